# Helpers shared by the benchmark scripts (sourced, not run). Every process a script starts in
# the background goes into PIDS; WORK is its scratch directory; both are cleaned up on exit.

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL [TRIES]: until URL answers 2xx (TRIES x 0.1 s, default 100), else exit.
wait_http() {
  for _ in $(seq 1 "${2:-100}"); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  exit 1
}
