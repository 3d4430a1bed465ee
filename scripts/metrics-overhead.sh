#!/usr/bin/env bash
# What the node metrics cost: the bench's full-speed throughput with metrics on and off, in one run.
#
#   scripts/metrics-overhead.sh            (make bench-metrics-overhead builds the launchers first)
#
# Runs a fresh local 3-node cluster (scripts/local-cluster.sh, ports 7001-7003/8001-8003/9001-9003,
# data under build/metrics-overhead/run) once per entry of RUNS (default on,off,on,off: alternating,
# so a drift of the machine's load hits both settings alike), started with MESSENGER_METRICS=true or
# false, checks that /metrics answers 200 or 404 accordingly, and drives it with
# `build/bench.app compare --systems messenger --rates full` for WARMUP (3) + DURATION (20) seconds.
# Prints each run's acked sends/s and send->ack p99, the mean of each setting and the on/off ratio;
# each run's full bench output is in build/bench-results/metrics-overhead/. BENCH_ARGS adds options
# (e.g. BENCH_ARGS="--clients 50"). Refuses to start while another cluster answers on 8001.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-on,off,on,off}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-20}
BENCH_ARGS=${BENCH_ARGS:-}
OUT=build/bench-results/metrics-overhead
export RUN_DIR=build/metrics-overhead/run

for tool in build/bench.app build/server.app; do
  [[ -x $tool ]] || { echo "metrics-overhead: $tool is missing; run: make build-server build-bench" >&2; exit 1; }
done
if curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:8001/health 2>/dev/null; then
  echo "metrics-overhead: a cluster already answers on 127.0.0.1:8001; stop it first (make stop or make deploy-stop)" >&2
  exit 1
fi

cleanup() { scripts/local-cluster.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
mkdir -p "$OUT"

declare -a MODES RATES P99S LOADS EPOCHS
IFS=, read -r -a MODES <<<"$RUNS"
n=0
for mode in "${MODES[@]}"; do
  n=$((n + 1))
  case $mode in
    on) flag=true expect=200 ;;
    off) flag=false expect=404 ;;
    *) echo "metrics-overhead: RUNS entries are on or off, not '$mode'" >&2; exit 2 ;;
  esac
  rm -rf "$RUN_DIR"
  load=$(cut -d' ' -f1 /proc/loadavg)
  LOADS+=("$load")
  echo "== run $n/${#MODES[@]}: metrics $mode (load average $load on $(nproc) cores)"
  MESSENGER_METRICS=$flag scripts/local-cluster.sh start >"$OUT/run-$n-$mode.cluster.log"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8001/metrics || true)
  if [[ $code != "$expect" ]]; then
    echo "metrics-overhead: with metrics $mode, /metrics answered $code, not $expect: the setting did not apply" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  build/bench.app compare --systems messenger --rates full --warmup "$WARMUP" --duration "$DURATION" \
    --pid-dir "$RUN_DIR" --out "$OUT/run-$n-$mode" $BENCH_ARGS >"$OUT/run-$n-$mode.txt" 2>&1 || {
    echo "metrics-overhead: the bench failed (exit $?); see $OUT/run-$n-$mode.txt" >&2
    tail -n 20 "$OUT/run-$n-$mode.txt" >&2
    exit 1
  }
  rate=$(awk '/^acked sends\/s/ { gsub(",", "", $3); print $3; exit }' "$OUT/run-$n-$mode.txt")
  p99=$(awk '/^send→ack p99 ms/ { print $4; exit }' "$OUT/run-$n-$mode.txt")
  [[ -n $rate ]] || { echo "metrics-overhead: no throughput in $OUT/run-$n-$mode.txt" >&2; exit 1; }
  RATES+=("$rate")
  P99S+=("${p99:-?}")
  printf '   acked sends/s %s, send->ack p99 %s ms\n' "$rate" "${p99:-?}"
  # Epoch 1 or 2 after start-up; more means leader elections during the run (a starved machine
  # misses heartbeats), which cost throughput whatever the metrics setting.
  epoch=$(curl -fsS --max-time 5 http://127.0.0.1:8001/status 2>/dev/null | grep -o '"epoch":[0-9]*' | cut -d: -f2 || true)
  EPOCHS+=("${epoch:-?}")
  scripts/local-cluster.sh stop >/dev/null
  for log in "$RUN_DIR"/node-*.log; do
    cp "$log" "$OUT/run-$n-$mode.$(basename "$log")"
  done
done
rm -rf "$RUN_DIR"

echo
echo "metrics overhead: full-speed throughput of a 3-node cluster, ${WARMUP} s warm-up + ${DURATION} s measured per run"
printf '%-5s %-8s %15s %14s %14s %12s\n' run metrics "acked sends/s" "ack p99 ms" "load average" "final epoch"
for i in "${!MODES[@]}"; do
  printf '%-5s %-8s %15s %14s %14s %12s\n' "$((i + 1))" "${MODES[$i]}" "${RATES[$i]}" "${P99S[$i]}" "${LOADS[$i]}" \
    "${EPOCHS[$i]}"
done
echo "(a final epoch above 2 means elections during the run, which slow it whatever the setting)"
# Each on run against the off run next to it: pairs share the machine's load of their moment.
for ((i = 0; i + 1 < ${#MODES[@]}; i += 2)); do
  if [[ ${MODES[$i]} != "${MODES[$((i + 1))]}" ]]; then
    awk -v a="${MODES[$i]}" -v ra="${RATES[$i]}" -v rb="${RATES[$((i + 1))]}" -v k="$((i / 2 + 1))" \
      'BEGIN { on = a == "on" ? ra : rb; off = a == "on" ? rb : ra; if (off > 0) printf "pair %d: on/off %.3f\n", k, on / off }'
  fi
done
summary=$(for i in "${!MODES[@]}"; do echo "${MODES[$i]} ${RATES[$i]}"; done | awk '
  { sum[$1] += $2; count[$1]++ }
  END {
    on = count["on"] ? sum["on"] / count["on"] : 0; off = count["off"] ? sum["off"] / count["off"] : 0
    printf "mean with metrics on: %.0f/s, off: %.0f/s", on, off
    if (off > 0 && on > 0) printf ", on/off ratio %.3f (%+.1f%% with metrics)", on / off, (on / off - 1) * 100
    printf "\n"
  }')
echo "$summary"
echo "$summary" >"$OUT/summary.txt"
