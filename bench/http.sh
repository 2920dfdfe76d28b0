#!/usr/bin/env bash
# HTTP benchmark of the meAI server: GET /health, GET /conversations/ (50 conversations)
# and GET /conversations/{id}/messages (200 messages), each loaded with wrk for a fixed
# time over 64 connections, signed in through local mode. Prints a markdown table.
#
#   bench/http.sh                 # SQLite (temp file)
#   bench/http.sh --postgres      # a freshly created PostgreSQL database, dropped after
#   bench/http.sh --both          # both, one after the other
#
# Options:
#   --duration D       wrk duration per endpoint (default 10s)
#   --connections N    open connections (default 64)
#   --threads N        wrk threads (default: number of cores)
#   --no-build         use the release binary already built
#   --bin PATH         use this server binary (e.g. an earlier commit's, for a before/after)
#
# Environment:
#   BENCH_PG_URL       PostgreSQL server to create the database on
#                      (default postgres://postgres@127.0.0.1:5432/postgres)
#   RUST_LOG           server log filter (default warn: no per-request logging)
#   CARGO_TARGET_DIR   honoured, as by cargo
#
# All traffic stays on 127.0.0.1; every load run is bounded by --duration.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BACKENDS=(sqlite)
DURATION=10s
WARMUP=2s
CONNECTIONS=64
THREADS="$(nproc)"
BUILD=1
BIN=""
CONVERSATIONS=50
MESSAGES=200
COOKIE_NAME=session
BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --postgres) BACKENDS=(postgres) ;;
    --sqlite) BACKENDS=(sqlite) ;;
    --both) BACKENDS=(sqlite postgres) ;;
    --duration) DURATION=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --no-build) BUILD=0 ;;
    --bin) BIN=$2; BUILD=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

# ---------------------------------------------------------------------------
# Tools: wrk, curl, jq, sqlite3, psql (Debian packages, installed when missing).
# ---------------------------------------------------------------------------
ensure_tool() {
  local tool=$1 package=$2
  command -v "$tool" >/dev/null && return 0
  printf 'bench: installing %s\n' "$package" >&2
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}
ensure_tool wrk wrk
ensure_tool curl curl
ensure_tool jq jq
ensure_tool python3 python3
ensure_tool sqlite3 sqlite3
[[ " ${BACKENDS[*]} " == *" postgres "* ]] && ensure_tool psql postgresql-client

# ---------------------------------------------------------------------------
# The release binary, with PostgreSQL compiled in beside the defaults.
# ---------------------------------------------------------------------------
cd "$ROOT"
if [ "$BUILD" = 1 ]; then
  printf 'bench: cargo build --release --features postgres\n' >&2
  cargo build --release --locked --quiet -p meai --bin meai --features postgres >&2
fi
if [ -z "${BIN:-}" ]; then
  TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
  BIN="$TARGET_DIR/release/meai"
fi
[ -x "$BIN" ] || die "no release binary at $BIN (run without --no-build)"

# ---------------------------------------------------------------------------
# One run: fresh database, server, sign-in, seed, three loads.
# ---------------------------------------------------------------------------
TMP=""
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$PG_DB" ]; then
    psql "$BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
  if [ -n "$TMP" ]; then
    rm -rf "$TMP"
    TMP=""
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs SQL against the benchmark database.
db_exec() {
  case "$BACKEND" in
    sqlite) sqlite3 -bail -cmd '.timeout 5000' "$TMP/bench.db" "$1" ;;
    postgres) psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qtAc "$1" ;;
  esac
}

start_server() {
  local port
  port="$(free_port)"
  BASE="http://127.0.0.1:$port"
  # A clean environment (and a working directory without .env): only what is set here counts.
  (cd "$TMP" && exec env -i PATH="$PATH" HOME="$TMP" \
    DATABASE_URL="$DATABASE_URL" HOST=127.0.0.1 PORT="$port" \
    SECRET_KEY=benchmark-secret-key COOKIE_NAME="$COOKIE_NAME" \
    FRONTEND_URL=http://127.0.0.1:5173 ALLOWED_ORIGIN=http://127.0.0.1:5173 \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN" serve >"$TMP/server.log" 2>&1) &
  SERVER_PID=$!
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "$BASE/health" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$TMP/server.log" >&2
      die "the server exited before answering /health"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "the server did not answer /health within 60s"
    sleep 0.2
  done
}

sign_in() {
  local headers status
  headers="$(curl -sS -o /dev/null -D - "$BASE/auth/google" | tr -d '\r')"
  status="$(printf '%s\n' "$headers" | awk 'NR == 1 { print $2 }')"
  [[ "$status" == 3* ]] || die "GET /auth/google answered $status, expected a redirect (is Google OAuth configured?)"
  COOKIE="$(printf '%s\n' "$headers" | sed -n "s/^[Ss]et-[Cc]ookie: *\(${COOKIE_NAME}=[^;]*\).*/\1/p" | head -n 1)"
  [ -n "$COOKIE" ] || die "GET /auth/google set no '$COOKIE_NAME' cookie"
  curl -fsS -H "Cookie: $COOKIE" "$BASE/auth/me" | jq -e .user_id >/dev/null ||
    die "the session cookie from /auth/google does not authenticate /auth/me"
}

api() {
  curl -fsS -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$@"
}

# 50 conversations through the API; 200 messages (alternating Human/AI, chat-sized) written
# straight into the last one (REST has no message creation yet).
seed() {
  local i id=""
  for ((i = 1; i <= CONVERSATIONS; i++)); do
    id="$(api -X POST -d "{\"title\": \"Benchmark conversation $i\"}" "$BASE/conversations/" | jq -er .conversation_id)"
  done
  CONVERSATION_ID=$id
  db_exec "
    INSERT INTO messages (conversation_id, user_id, type, content, created_at)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MESSAGES)
    SELECT c.id, c.user_id,
           CASE WHEN n.i % 2 = 1 THEN 'Human' ELSE 'AI' END,
           CASE WHEN n.i % 2 = 1
             THEN 'Message ' || n.i || ': what is on my calendar tomorrow, and can you move the 3pm call?'
             ELSE 'Message ' || n.i || ': Tomorrow you have a stand-up at 9:30, lunch with Sam at 12:00 and the '
                  || 'vendor call at 15:00. I moved the vendor call to 16:00 and sent the attendees an update; '
                  || 'the rest of the afternoon is free if you want to block focus time.'
           END,
           c.created_at
    FROM n CROSS JOIN conversations c
    WHERE c.id = $CONVERSATION_ID"
  # Written past the store, so placed as the store would: one branch, the newest message shown.
  db_exec "
    UPDATE messages SET parent_id = (SELECT MAX(e.id) FROM messages e
      WHERE e.conversation_id = messages.conversation_id AND e.id < messages.id)
    WHERE conversation_id = $CONVERSATION_ID"
  db_exec "
    UPDATE conversations SET active_leaf_id = (SELECT MAX(id) FROM messages WHERE conversation_id = $CONVERSATION_ID)
    WHERE id = $CONVERSATION_ID"
  local got
  got="$(api "$BASE/conversations/" | jq '.conversations | length')"
  [ "$got" = "$CONVERSATIONS" ] || die "GET /conversations/ lists $got conversations, expected $CONVERSATIONS"
  got="$(api "$BASE/conversations/$CONVERSATION_ID/messages" | jq '.messages | length')"
  [ "$got" = "$MESSAGES" ] || die "GET /conversations/$CONVERSATION_ID/messages lists $got messages, expected $MESSAGES"
}

# The server's CPU time so far (user + system, in clock ticks): with wrk and other work on the
# same cores, CPU per request is steadier than requests/s.
server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

RESULT_ROWS=()
ERRORS=0
# load NAME PATH: a short warm-up, then the measured wrk run; appends a table row.
load() {
  local name=$1 path=$2 out="$TMP/wrk.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Cookie: $COOKIE" "$BASE$path" >/dev/null
  local cpu_before cpu_after
  cpu_before="$(server_cpu_ticks)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "$BASE$path" >"$out"
  cpu_after="$(server_cpu_ticks)"
  local rps p50 p99 non2xx sockerr bytes requests cpu_us
  bytes="$(curl -fsS -o /dev/null -w '%{size_download}' -H "Cookie: $COOKIE" "$BASE$path")"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  p50="$(awk '$1 == "50%" { print $2 }' "$out")"
  p99="$(awk '$1 == "99%" { print $2 }' "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  sockerr="$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  cpu_us="$(python3 -c 'import sys; t, n, hz = map(float, sys.argv[1:]); print(f"{t / hz * 1e6 / n:.0f}")' \
    "$((cpu_after - cpu_before))" "$requests" "$(getconf CLK_TCK)")"
  local errors=$((${non2xx:-0} + ${sockerr:-0}))
  ERRORS=$((ERRORS + errors))
  LAST_RPS=$rps
  RESULT_ROWS+=("| $BACKEND | \`$name\` | $bytes | $(printf '%.0f' "$rps") | $p50 | $p99 | $cpu_us | $errors |")
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

GOAL_LINES=()
LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
run_backend() {
  BACKEND=$1
  TMP="$(mktemp -d)"
  case "$BACKEND" in
    sqlite) DATABASE_URL="sqlite://$TMP/bench.db" ;;
    postgres)
      PG_DB="meai_bench_$$_$RANDOM"
      psql "$BENCH_PG_URL" -v ON_ERROR_STOP=1 -qtAc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      DATABASE_URL="${BENCH_PG_URL%/*}/$PG_DB"
      ;;
  esac
  printf 'bench: %s: starting the server\n' "$BACKEND" >&2
  start_server
  sign_in
  printf 'bench: %s: seeding %s conversations and %s messages\n' "$BACKEND" "$CONVERSATIONS" "$MESSAGES" >&2
  seed
  printf 'bench: %s: loading each endpoint for %s (%s connections, %s threads)\n' \
    "$BACKEND" "$DURATION" "$CONNECTIONS" "$THREADS" >&2
  load "GET /health" /health
  local health=$LAST_RPS
  load "GET /conversations/ ($CONVERSATIONS)" /conversations/
  local conversations=$LAST_RPS
  load "GET /conversations/{id}/messages ($MESSAGES)" "/conversations/$CONVERSATION_ID/messages"
  local messages=$LAST_RPS
  local rc rm verdict=met
  rc="$(ratio "$conversations" "$health")"
  rm="$(ratio "$messages" "$health")"
  python3 -c 'import sys; sys.exit(0 if min(map(float, sys.argv[1:])) >= 0.5 else 1)' "$rc" "$rm" || verdict="NOT met"
  GOAL_LINES+=("- $BACKEND: conversations ${rc}x, messages ${rm}x the throughput of /health: goal (>= 0.5x) $verdict")
  cleanup
}

for backend in "${BACKENDS[@]}"; do
  run_backend "$backend"
done

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
printf '\n'
printf 'Machine: %s cores (%s), %s GiB, load average %s before the run; commit %s.\n' \
  "$(nproc)" "${cpu:-unknown CPU}" "$(free -g | awk '/^Mem:/ { print $2 }')" "$LOADAVG_BEFORE" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf 'Load: wrk with %s connections and %s threads on the same machine, %s per endpoint after a %s warm-up.\n\n' \
  "$CONNECTIONS" "$THREADS" "$DURATION" "$WARMUP"
printf '| backend | endpoint | response bytes | requests/s | p50 | p99 | server CPU µs/request | errors |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
printf '%s\n' "${RESULT_ROWS[@]}"
printf '\n'
printf '%s\n' "${GOAL_LINES[@]}"
[ "$ERRORS" -eq 0 ] || die "$ERRORS requests failed (non-2xx or socket errors): the numbers above are not valid"
