#!/usr/bin/env bash
# Streaming benchmark of the meAI server: Socket.IO clients (websocket only, session cookie,
# like the frontend) against the release server, answered by a fake OpenAI server with a fixed
# time-to-first-token (TTFT) and token pace (bench/stream-fake-llm.mjs). Scenarios:
#   low load: 1 socket x 200 sequential turns after one warm-up turn: backend-added latency
#             (emit -> first `assistant`, minus the fake's TTFT: the fixed one, and the one the
#             fake measured for that question), p50/p99;
#   load:     100 sockets x 10 turns (1,000 turns, 100 conversations streaming at once) on a
#             server just started, every conversation's first turn in the first wave:
#             throughput, added latency (also of the first wave alone), peak RSS, and
#             messages persisted vs sent;
#   warm:     the same after one warm-up turn per socket (not measured; it titles each
#             conversation and fills the server's connections), 1.5 s apart from the measured;
#   many:     1,000 sockets x 1 turn, all streaming at once (2 s answers): peak RSS and
#             messages persisted vs sent.
# Prints a markdown table; the CPU time per turn of the server, the fake and the driver (they
# share the machine's cores), over each scenario and over its first wave; the loaded
# scenarios' added latency wave by wave; then the server's own per-stage breakdown of the time
# before the first token (`meai_turn_stage_seconds` from /metrics) for low, load and warm.
#
#   bench/stream.sh [--no-build] [--bin PATH] [--sockets N] [--turns N] [--streams N]
#
# The per-user limits (MESSAGE_RATE_PER_MINUTE, MAX_CONCURRENT_RUNS_PER_USER) are disabled: all
# sockets belong to the one local user. Recall embeds through the fake (/v1/embeddings).
# Needs node and tests/node/node_modules (`npm ci` in tests/node). SQLite in a temp dir;
# all traffic stays on 127.0.0.1; every run is bounded (the driver exits when its turns end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BUILD=1
BIN=""
SOCKETS=100
TURNS=10
CHUNKS=20
LOW_TURNS=200
LOW_TTFT=50
LOW_PACE=5
LOAD_TTFT=200
LOAD_PACE=20
STREAMS=1000
MANY_TTFT=1000
MANY_PACE=50

while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --bin) BIN=$2; BUILD=0; shift ;;
    --sockets) SOCKETS=$2; shift ;;
    --turns) TURNS=$2; shift ;;
    --streams) STREAMS=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

[ -d "$ROOT/tests/node/node_modules/socket.io-client" ] || { echo "bench: run npm ci in tests/node first" >&2; exit 1; }
if [ "$BUILD" = 1 ]; then
  # The same build as bench/http.sh (PostgreSQL compiled in), so neither rebuilds for the other.
  (cd "$ROOT" && cargo build --release --locked -p meai --bin meai --features postgres)
fi
BIN="${BIN:-$TARGET/release/meai}"

# WORK, PIDS (cleaned up on exit), free_port, wait_http.
source "$ROOT/bench/lib.sh"

# run_scenario NAME SOCKETS TURNS TTFT PACE WARMUP -> prints the driver's JSON with peak RSS added
run_scenario() {
  local name=$1 sockets=$2 turns=$3 ttft=$4 pace=$5 warmup=$6
  local llm_port app_port
  llm_port=$(free_port)
  node "$ROOT/bench/stream-fake-llm.mjs" "$llm_port" "$ttft" "$pace" "$CHUNKS" >"$WORK/llm-$name.log" 2>&1 &
  PIDS+=($!)
  local llm_pid=$!
  app_port=$(free_port)
  mkdir -p "$WORK/$name"
  env -i PATH="$PATH" HOME="${HOME:-/root}" \
    DATABASE_URL="sqlite://$WORK/$name/meai.db" PORT="$app_port" SECRET_KEY=bench-secret \
    MODEL=openai OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$llm_port/v1/" \
    MESSAGE_RATE_PER_MINUTE=0 MAX_CONCURRENT_RUNS_PER_USER=0 \
    RUST_LOG="${RUST_LOG:-warn}" "$BIN" >"$WORK/app-$name.log" 2>&1 &
  PIDS+=($!)
  local app_pid=$!
  wait_http "http://127.0.0.1:$app_port/health"
  local out
  out=$(SERVER_PID=$app_pid CLK_TCK=$(getconf CLK_TCK) node "$ROOT/bench/stream-load.mjs" "http://127.0.0.1:$app_port" "$sockets" "$turns" "$ttft" "$CHUNKS" "http://127.0.0.1:$llm_port" "$warmup")
  local rss_kb
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$app_pid/status")
  curl -fsS "http://127.0.0.1:$app_port/metrics" >"$WORK/metrics-$name.txt" || true
  kill "$app_pid" "$llm_pid" 2>/dev/null || true
  echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); d['peak_rss_mib']=round($rss_kb/1024,1); d['name']='$name'; d['ttft_ms']=$ttft; d['pace_ms']=$pace; print(json.dumps(d))"
}

LOW=$(run_scenario low 1 "$LOW_TURNS" "$LOW_TTFT" "$LOW_PACE" 1)
LOAD=$(run_scenario load "$SOCKETS" "$TURNS" "$LOAD_TTFT" "$LOAD_PACE" 0)
WARM=$(run_scenario warm "$SOCKETS" "$TURNS" "$LOAD_TTFT" "$LOAD_PACE" 1)
MANY=$(run_scenario many "$STREAMS" 1 "$MANY_TTFT" "$MANY_PACE" 0)
echo "$LOW" >"$WORK/low.json"
echo "$LOAD" >"$WORK/load.json"
echo "$WARM" >"$WORK/warm.json"
echo "$MANY" >"$WORK/many.json"

python3 - "$WORK/low.json" "$WORK/load.json" "$WORK/warm.json" "$WORK/many.json" "$CHUNKS" <<'PY'
import json, sys
rows = [json.load(open(p)) for p in sys.argv[1:5]]
chunks = sys.argv[5]
print(f"| scenario | turns | fake LLM (TTFT / pace, {chunks} chunks) | turns/s | chunks/s | added latency p50 / p99 / max (ms) | added less the fake's measured TTFT p50 / p99 / max (ms) | of it, the first wave p50 / p99 (ms) | turn p50 / p99 (ms) | peak RSS (MiB) | sent (warm-up) / persisted Human / AI (complete) | error events |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for d in rows:
    warm = " after a warm-up turn" if d["warmup_turns"] else ""
    label = f"{d['sockets']} socket(s) x {d['turns_per_socket']} turns{warm}"
    w = d["first_wave_added_model_ms"]
    a, m, t = d["added_ms"], d["added_model_ms"], d["turn_ms"]
    missing = f" ({d['added_model_missing']} not measured)" if d["added_model_missing"] else ""
    print(f"| {label} | {d['turns']} | {d['ttft_ms']} ms / {d['pace_ms']} ms | {d['turns_per_s']} | {d['chunks_per_s']} | "
          f"{a['p50']} / {a['p99']} / {a['max']} | {m['p50']} / {m['p99']} / {m['max']}{missing} | {w['p50']} / {w['p99']} | {t['p50']} / {t['p99']} | {d['peak_rss_mib']} | "
          f"{d['sent']} ({d['warmup_turns']}) / {d['persisted_human']} / {d['persisted_ai']} ({d['persisted_complete_ai']}) | {d['error_events']} |")
# What the machine's cores went to: CPU per turn of the three processes sharing them, over the
# whole scenario and over the first wave alone (every socket's first turn, sent at once, up to
# its last first token; the wall time includes the fake's TTFT).
print()
print("| scenario | CPU per turn: server / fake / driver (ms) | first wave: wall (ms), CPU per turn server / fake / driver (ms) |")
print("|---|---|---|")
def trio(c):
    return " / ".join("-" if c is None or c[k] is None else str(c[k]) for k in ("server", "fake", "client"))
for d, label in zip(rows, ["low", "load", "warm", "many"]):
    # One socket's first wave is one turn: below the server's clock-tick resolution (10 ms). A
    # first wave with a turn that got no first token (refused) has no sample.
    sampled = d["sockets"] > 1 and d["first_wave_wall_ms"] is not None
    wave = f"{d['first_wave_wall_ms']}, {trio(d['first_wave_cpu_ms_per_turn'])}" if sampled else "-"
    print(f"| {label} | {trio(d['cpu_ms_per_turn'])} | {wave} |")
# Where the p99 of the loaded scenarios comes from: each wave (the turns every socket sent n-th).
print()
print("| scenario | added less the fake's TTFT, by wave: p50 / max (ms) | the second half of the waves: p50 / p99 / max (ms) |")
print("|---|---|---|")
for d in rows[1:3]:
    label = "load" if not d["warmup_turns"] else "warm"
    waves = "; ".join(f"{n}: {w['p50']} / {w['max']}" for n, w in enumerate(d["waves_added_model_ms"]))
    s = d["steady_added_model_ms"]
    steady = "-" if s is None else f"{s['p50']} / {s['p99']} / {s['max']}"
    print(f"| {label} | {waves} | {steady} |")
PY

# The server's breakdown: per stage, turns seen, mean, and p50 / p99 read off the histogram
# (the upper bound of the bucket holding that rank, so "<= x"). The server counts every turn,
# warm-up turns too.
python3 - "$WORK/metrics-low.txt" "$WORK/metrics-load.txt" "$WORK/metrics-warm.txt" <<'PY'
import re, sys
def stages(path):
    buckets, sums, counts = {}, {}, {}
    for line in open(path):
        m = re.match(r'meai_turn_stage_seconds_(bucket|sum|count)\{(.*)\} (\S+)', line)
        if not m:
            continue
        kind, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
        stage = labels["stage"]
        if kind == "bucket":
            buckets.setdefault(stage, []).append((float(labels["le"]), value))
        elif kind == "sum":
            sums[stage] = value
        else:
            counts[stage] = value
    return buckets, sums, counts
def quantile(bs, count, q):
    rank = q * count
    for le, c in sorted(bs):
        if c >= rank:
            return le
    return float("inf")
def ms(x):
    return "inf" if x == float("inf") else f"{x * 1000:.3f}"
print()
print("| scenario | stage | turns | mean (ms) | p50 <= (ms) | p99 <= (ms) |")
print("|---|---|---|---|---|---|")
for name, path in zip(["low", "load", "warm"], sys.argv[1:4]):
    try:
        buckets, sums, counts = stages(path)
    except OSError:
        continue
    order = ["admission", "setup", "human_insert", "recall_embedding", "vector_search", "history", "reads",
             "request_build", "provider_connect"]
    for stage in sorted(buckets, key=lambda s: order.index(s) if s in order else len(order)):
        n = counts.get(stage, 0)
        if n == 0:
            continue
        print(f"| {name} | {stage} | {int(n)} | {sums[stage] / n * 1000:.3f} | "
              f"{ms(quantile(buckets[stage], n, 0.5))} | {ms(quantile(buckets[stage], n, 0.99))} |")
PY
