#!/usr/bin/env bash
# Restart time against total history: `build/bench.app restart` on a cluster of its own.
#
#   scripts/restart-bench.sh            (make bench-restart builds the launchers first)
#
# Starts a fresh local 3-node cluster (scripts/local-cluster.sh with PORT_OFFSET=100: clients on
# 7101-7103, admin 8101-8103, peers 9101-9103; data under build/restart-bench/run, so it runs beside
# `make run`), with the client limits lifted (BENCH_SERVER_ARGS) plus SERVER_ARGS, then fills its rooms
# up to each total of MESSAGES (default 1000000,3000000,10000000) and at each SIGKILLs a backup
# RESTARTS times (default 3), starts it again and times it from launch until it serves. Results in
# build/bench-results/restart/. The cluster is stopped by PID when the script exits, also on failure.
# BENCH_ARGS adds options of the bench's restart mode (see `build/bench.app restart --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-1000000,3000000,10000000}
RESTARTS=${RESTARTS:-3}
BENCH_ARGS=${BENCH_ARGS:-}
BENCH_SERVER_ARGS=${BENCH_SERVER_ARGS:---send-rate off --user-send-rate off --max-rooms 10000000}
OUT=build/bench-results/restart
export RUN_DIR=build/restart-bench/run PORT_OFFSET=100

for tool in build/bench.app build/server.app; do
  [[ -x $tool ]] || { echo "restart-bench: $tool is missing; run: make build-server build-bench" >&2; exit 1; }
done
if curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:8101/health 2>/dev/null; then
  echo "restart-bench: a cluster already answers on 127.0.0.1:8101; stop it first (RUN_DIR=$RUN_DIR PORT_OFFSET=100 scripts/local-cluster.sh stop)" >&2
  exit 1
fi

cleanup() { scripts/local-cluster.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
rm -rf "$RUN_DIR"
mkdir -p "$OUT"
SERVER_ARGS="$BENCH_SERVER_ARGS ${SERVER_ARGS:-}" scripts/local-cluster.sh start >"$OUT/cluster.log"
# shellcheck disable=SC2086
build/bench.app restart --messages "$MESSAGES" --restarts "$RESTARTS" \
  --servers 127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103 --admin 127.0.0.1:8101,127.0.0.1:8102,127.0.0.1:8103 \
  --pid-dir "$RUN_DIR" --data-dir "$RUN_DIR/node-{id}/data" --out "$OUT" $BENCH_ARGS
