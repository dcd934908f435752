#!/usr/bin/env bash
# What tracing costs on the request path: the same small chat completion
# through one data plane with tracing off, on at 10 % sampling
# (`parentbased_traceidratio`, 0.1) and on at 100 % (`parentbased_always_on`),
# exporting over OTLP/gRPC to a local sink that counts and discards
# (tests/e2e/otlp_receiver.py --discard). Each mode restarts both planes with
# its OTEL_* variables; the mock upstream called directly is the baseline for
# "added".
#
#   bash bench/tracing.sh
#   BENCH_DURATION=2s BENCH_BIN_DIR=target/debug bash bench/tracing.sh  # a quick check, not numbers
#
# Closed loop at 1 and 64 connections (BENCH_CONNECTIONS). A second table says
# per mode how many spans reached the sink and how many the data plane
# dropped (a full export queue drops and counts, it never blocks a request):
# at 100 % and high rates, raise OTEL_BSP_MAX_QUEUE_SIZE (inherited) to keep
# them all.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-8s}
connections=${BENCH_CONNECTIONS:-"1 64"}
python=${BENCH_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in .venv/bin/python python3; do
    if [ -x "$candidate" ] || command -v "$candidate" >/dev/null; then python=$candidate; break; fi
  done
fi
"$python" -c 'import grpc, opentelemetry.proto' 2>/dev/null ||
  { echo "the sink needs grpcio and opentelemetry-proto: set BENCH_PYTHON to a Python that has them" >&2; exit 1; }

. bench/lib.sh

write_bench_config

body='{"model":"bench","messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
# Prints "rps p50_us p99_us success_rate".
measure() { # url connections
  oha_post "$1" sk-bench-master "$body" "$2"
}
# The data plane's dropped-span counter.
dropped() {
  curl -fs "http://127.0.0.1:$dp_port/metrics" |
    awk '$1 == "tollgate_otel_dropped_spans_total" {print $2; found=1} END {if (!found) print 0}'
}
# User + system CPU seconds a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"
}
stop_cluster() {
  kill "$cp_pid" "$dp_pid" 2>/dev/null || true
  wait "$cp_pid" "$dp_pid" 2>/dev/null || true
}

direct="http://127.0.0.1:$mock_port/v1/chat/completions"
declare -A base
for c in $connections; do
  duration=2s measure "$direct" "$c" >/dev/null
  base[$c]=$(measure "$direct" "$c")
done

rows=()
exports=()
for mode in off 10% 100%; do
  unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_TRACES_SAMPLER OTEL_TRACES_SAMPLER_ARG
  sink_pid=
  if [ "$mode" != off ]; then
    sink_port=$(free_port)
    "$python" tests/e2e/otlp_receiver.py --port "$sink_port" --discard >"$work/sink.log" 2>&1 &
    sink_pid=$!; pids+=($sink_pid)
    for _ in $(seq 1 50); do grep -q '^listening' "$work/sink.log" && break; sleep 0.1; done
    grep -q '^listening' "$work/sink.log" || { echo "the OTLP sink did not start:"; cat "$work/sink.log"; exit 1; }
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port"
    if [ "$mode" = 10% ]; then
      export OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
    else
      export OTEL_TRACES_SAMPLER=parentbased_always_on
    fi
  fi
  start_cluster
  gateway="http://127.0.0.1:$dp_port/v1/chat/completions"
  duration=2s measure "$gateway" 8 >/dev/null # warm the connection pools
  for c in $connections; do
    read -r brps bp50 bp99 _ <<<"${base[$c]}"
    read -r rps p50 p99 ok <<<"$(measure "$gateway" "$c")"
    rows+=("$(printf '| %s | %s | %s | %s µs | %s µs | %s µs | %s µs | %s |' \
      "$mode" "$c" "$rps" "$p50" "$((p50 - bp50))" "$p99" "$((p99 - bp99))" "$ok")")
  done
  drops=$(dropped)
  cpu_dp=$(cpu_seconds "$dp_pid") cpu_cp=$(cpu_seconds "$cp_pid")
  cpu_sink=—
  [ -n "$sink_pid" ] && cpu_sink=$(cpu_seconds "$sink_pid")
  stop_cluster # the last batches flush on shutdown
  spans=—
  if [ -n "$sink_pid" ]; then
    kill "$sink_pid"; wait "$sink_pid" 2>/dev/null || true
    spans=$(awk '/^spans received:/ {print $3}' "$work/sink.log")
    [ "${spans:-0}" -gt 0 ] || { echo "tracing $mode: no span reached the sink"; cat "$work/sink.log"; exit 1; }
  fi
  exports+=("| $mode | $spans | $drops | $cpu_dp s | $cpu_cp s | $cpu_sink s |")
done
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_TRACES_SAMPLER OTEL_TRACES_SAMPLER_ARG

printf '| tracing | connections | rps | p50 | added p50 | p99 | added p99 | success |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for c in $connections; do
  read -r brps bp50 bp99 bok <<<"${base[$c]}"
  printf '| mock directly | %s | %s | %s µs | — | %s µs | — | %s |\n' "$c" "$brps" "$bp50" "$bp99" "$bok"
done
printf '%s\n' "${rows[@]}"
echo
# Both planes export to the sink (the control plane's spans are few).
# CPU time of each process over the mode's whole run (same load for every
# mode): where tracing's cost lands on these shared cores.
printf '| tracing | spans at the sink | spans dropped by the data plane | data plane CPU | control plane CPU | sink CPU |\n|---|---|---|---|---|---|\n'
printf '%s\n' "${exports[@]}"
