#!/usr/bin/env bash
# Scaling benchmark: the same Socket.IO load (bench/stream-load.mjs, as bench/stream.sh runs it)
# against 1 instance and against 2 instances of the release server, all on PostgreSQL + Redis
# (runs shared through Redis), answered by the fake OpenAI server (bench/stream-fake-llm.mjs).
# Scenarios:
#   1 instance:            SOCKETS sockets x TURNS turns against one instance;
#   2 instances:           the same load, sockets spread over two instances;
#   2 instances, restart:  the same load while instance A gets SIGTERM (graceful: its runs
#                          finish or are stopped with partial answers stored) and comes back;
#                          its sockets reconnect to B. Messages persisted vs sent.
# Also 1 instance with in-process runs (no Redis), the cost of sharing runs through Redis.
# Prints a markdown table.
#
#   bench/instances.sh [--no-build] [--sockets N] [--turns N]
#
# Needs node + tests/node/node_modules, PostgreSQL (BENCH_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/postgres; a database per scenario is created and dropped)
# and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379; keys under a fresh prefix).
# Everything stays on 127.0.0.1; every run is bounded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DB_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
BUILD=1
SOCKETS=100
TURNS=10
CHUNKS=20
TTFT=200
PACE=20
GRACE=2

while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --sockets) SOCKETS=$2; shift ;;
    --turns) TURNS=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

[ -d "$ROOT/tests/node/node_modules/socket.io-client" ] || { echo "bench: run npm ci in tests/node first" >&2; exit 1; }
command -v psql >/dev/null || { echo "bench: needs psql" >&2; exit 1; }
WORK="$(mktemp -d)"
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -p meai --bin meai --features postgres,redis)
fi
# A private copy: another build in a shared target directory may replace the binary (with other
# features) while the benchmark runs. MEAI_BIN overrides.
cp "${MEAI_BIN:-$TARGET/release/meai}" "$WORK/meai"
BIN="$WORK/meai"
PIDS=()
DBS=()
cleanup() {
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  for db in "${DBS[@]+"${DBS[@]}"}"; do psql "$DB_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL PID LOG
wait_http() {
  for _ in $(seq 1 300); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  tail -n 5 "$3" >&2
  exit 1
}

db_url_for() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DB_URL" "$1"; }

# start_instance NAME PORT DB REDIS(0|1) PREFIX LLM_PORT -> pid on stdout
start_instance() {
  local name=$1 port=$2 db=$3 redis=$4 prefix=$5 llm_port=$6
  local redis_env=()
  [ "$redis" = 1 ] && redis_env=(REDIS_URL="$REDIS_URL" REDIS_KEY_PREFIX="$prefix")
  env -i PATH="$PATH" HOME="${HOME:-/root}" \
    DATABASE_URL="$(db_url_for "$db")" "${redis_env[@]}" PORT="$port" SECRET_KEY=bench-secret \
    SHUTDOWN_GRACE_SECONDS="$GRACE" MESSAGE_RATE_PER_MINUTE=0 MAX_CONCURRENT_RUNS_PER_USER=0 \
    AUTH_RATE_PER_MINUTE=0 MODEL=openai OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$llm_port/v1/" \
    RUST_LOG="${RUST_LOG:-warn}" "$BIN" >>"$WORK/app-$name.log" 2>&1 &
  echo $!
}

# run_scenario NAME INSTANCES REDIS(0|1) RESTART(0|1) -> the driver's JSON, with the scenario
run_scenario() {
  local name=$1 count=$2 redis=$3 restart=$4
  local db="meai_bench_${name//-/_}_$$"
  psql "$DB_URL" -qc "CREATE DATABASE $db" >/dev/null
  DBS+=("$db")
  local prefix="meai-bench-$name-$$"
  local llm_port
  llm_port=$(free_port)
  node "$ROOT/bench/stream-fake-llm.mjs" "$llm_port" "$TTFT" "$PACE" "$CHUNKS" >"$WORK/llm-$name.log" 2>&1 &
  PIDS+=($!)
  local llm_pid=$!
  local ports=() pids=() bases=() i
  for i in $(seq 1 "$count"); do
    ports+=("$(free_port)")
    pids+=("$(start_instance "$name-$i" "${ports[-1]}" "$db" "$redis" "$prefix" "$llm_port")")
    PIDS+=("${pids[-1]}")
    bases+=("http://127.0.0.1:${ports[-1]}")
    # One at a time: the first one migrates the fresh database.
    wait_http "${bases[-1]}/health" "${pids[-1]}" "$WORK/app-$name-$i.log"
  done
  local joined
  joined=$(IFS=,; echo "${bases[*]}")
  node "$ROOT/bench/stream-load.mjs" "$joined" "$SOCKETS" "$TURNS" "$TTFT" "$CHUNKS" >"$WORK/$name.json" &
  local driver=$!
  local restart_note=""
  if [ "$restart" = 1 ]; then
    # Once the load is in full swing, restart instance 1 the way an orchestrator does.
    sleep 3
    local t0=$SECONDS
    kill -TERM "${pids[0]}"
    while kill -0 "${pids[0]}" 2>/dev/null; do sleep 0.1; done
    pids[0]=$(start_instance "$name-1" "${ports[0]}" "$db" "$redis" "$prefix" "$llm_port")
    PIDS+=("${pids[0]}")
    wait_http "${bases[0]}/health" "${pids[0]}" "$WORK/app-$name-1.log"
    restart_note="instance 1 down for ~$((SECONDS - t0))s"
  fi
  wait "$driver"
  local rss=0 pid kb
  for pid in "${pids[@]}"; do
    kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    rss=$((rss + kb))
    kill "$pid" 2>/dev/null || true
  done
  kill "$llm_pid" 2>/dev/null || true
  python3 - "$WORK/$name.json" "$name" "$redis" "$rss" "$restart_note" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.update(name=sys.argv[2], redis=sys.argv[3] == "1", peak_rss_mib=round(int(sys.argv[4]) / 1024, 1), note=sys.argv[5])
print(json.dumps(d))
PY
}

{
  run_scenario one-local 1 0 0
  run_scenario one 1 1 0
  run_scenario two 2 1 0
  run_scenario two-restart 2 1 1
} >"$WORK/all.jsonl"

python3 - "$WORK/all.jsonl" "$CHUNKS" "$TTFT" "$PACE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
chunks, ttft, pace = sys.argv[2:5]
print(f"Fake LLM: TTFT {ttft} ms, {chunks} chunks every {pace} ms. Added latency = emit -> first `assistant` minus the TTFT.")
print()
print("| scenario | runs | turns | turns/s | chunks/s | added latency p50 / p99 / max (ms) | turn p50 / p99 (ms) | peak RSS, all instances (MiB) | sent / persisted Human / AI (complete, stopped) | error events | turns cut by a disconnect / reconnects |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for d in rows:
    label = f"{d['instances']} instance(s)" + (f", restart ({d['note']})" if d["note"] else "")
    a, t = d["added_ms"], d["turn_ms"]
    runs = "Redis" if d["redis"] else "in-process"
    print(f"| {label} | {runs} | {d['turns']} | {d['turns_per_s']} | {d['chunks_per_s']} | "
          f"{a['p50']} / {a['p99']} / {a['max']} | {t['p50']} / {t['p99']} | {d['peak_rss_mib']} | "
          f"{d['sent']} / {d['persisted_human']} / {d['persisted_ai']} ({d['persisted_complete_ai']}, {d['persisted_stopped_ai']}) | "
          f"{d['error_events']} | {d['disconnected_turns']} / {d['reconnects']} |")
PY
