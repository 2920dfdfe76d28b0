#!/usr/bin/env bash
# Hostile-clients benchmark: what one abusive or merely numerous client costs the server.
#   flood  one signed-in socket sends --events small events (resume / join / stop) while another
#          runs chat turns (fake OpenAI, 50 ms to first token): server RSS growth, and the other
#          client's turn latency against an idle run;
#   idle   --sockets signed-in idle websockets: RSS while open (per socket), GET /health p99
#          while open, RSS every 5 s for 60 s after they close;
#   lists  a user with 60,000 conversations, 64 concurrent GET /conversations/ (no limit, as the
#          frontend asks), 5 rounds: peak RSS.
# Each scenario gets a fresh server (release build, SQLite in a temp dir, local mode) and prints
# one JSON line.
#
#   bench/hostile.sh [flood|idle|lists|all] [--no-build] [--events N] [--sockets N]
#                    [--env KEY=VALUE]...          (extra server settings, e.g. SOCKET_EVENT_RATE=0)
#   MEAI_BIN=path bench/hostile.sh ...             (another binary, e.g. an older build)
#
# Needs node and tests/node/node_modules (npm ci in tests/node), sqlite3, curl, python3. All
# traffic stays on 127.0.0.1; every run is bounded in events, sockets and time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BUILD=1
SCENARIO=all
EVENTS=100000
SOCKETS=10000
TURNS=20
CONVERSATIONS=60000
EXTRA_ENV=()

while [ "$#" -gt 0 ]; do
  case "$1" in
    flood|idle|lists|all) SCENARIO=$1 ;;
    --no-build) BUILD=0 ;;
    --events) EVENTS=$2; shift ;;
    --sockets) SOCKETS=$2; shift ;;
    --env) EXTRA_ENV+=("$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

[ -d "$ROOT/tests/node/node_modules/socket.io-client" ] || { echo "bench: run npm ci in tests/node first" >&2; exit 1; }
if [ -z "${MEAI_BIN:-}" ] && [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p meai --bin meai >&2)
fi
BIN="${MEAI_BIN:-$TARGET/release/meai}"

# WORK, PIDS (cleaned up on exit), free_port, wait_http.
source "$ROOT/bench/lib.sh"

LLM_PORT=$(free_port)
node "$ROOT/bench/stream-fake-llm.mjs" "$LLM_PORT" 50 5 20 >"$WORK/llm.log" 2>&1 &
PIDS+=($!)

# start_server NAME: a fresh server; sets APP_PID and BASE.
start_server() {
  local name=$1 port
  port=$(free_port)
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env -i PATH="$PATH" HOME="$WORK/$name" \
    DATABASE_URL="sqlite://$WORK/$name/meai.db" HOST=127.0.0.1 PORT="$port" SECRET_KEY=bench-secret-key-bench-secret-key \
    MODEL=openai OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$LLM_PORT/v1/" \
    MESSAGE_RATE_PER_MINUTE=0 MAX_CONCURRENT_RUNS_PER_USER=0 AUTH_RATE_PER_MINUTE=0 \
    RUST_LOG="${RUST_LOG:-warn}" "${EXTRA_ENV[@]}" "$BIN" serve >"$WORK/$name.log" 2>&1) &
  APP_PID=$!
  PIDS+=("$APP_PID")
  BASE="http://127.0.0.1:$port"
  wait_http "$BASE/health" 200
}

stop_server() { kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; }

run_flood() {
  start_server flood
  node "$ROOT/bench/hostile-load.mjs" flood "$BASE" "$APP_PID" "$EVENTS" "$TURNS"
  stop_server
}

run_idle() {
  start_server idle
  node --max-old-space-size=4096 "$ROOT/bench/hostile-load.mjs" idle "$BASE" "$APP_PID" "$SOCKETS" 60
  stop_server
}

run_lists() {
  start_server lists
  local cookie
  cookie=$(curl -sS -o /dev/null -D - "$BASE/auth/google" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\(session=[^;]*\).*/\1/p')
  curl -fsS -o /dev/null -H "Cookie: $cookie" -H 'Content-Type: application/json' -d '{"title":"seed"}' "$BASE/conversations/"
  # Copies of that conversation (its timestamps, in the store's own format), straight into the table.
  sqlite3 -bail -cmd '.timeout 5000' "$WORK/lists/meai.db" "
    INSERT INTO conversations (user_id, title, summary_text, created_at, updated_at)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((CONVERSATIONS - 1)))
    SELECT c.user_id, 'Seeded conversation number ' || n.i, 'A short running summary of conversation ' || n.i,
           c.created_at, c.updated_at
    FROM n CROSS JOIN (SELECT * FROM conversations LIMIT 1) c"
  node "$ROOT/bench/hostile-load.mjs" lists "$BASE" "$APP_PID" 64 5
  stop_server
}

case "$SCENARIO" in
  flood) run_flood ;;
  idle) run_idle ;;
  lists) run_lists ;;
  all) run_flood; run_idle; run_lists ;;
esac
