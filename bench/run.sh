#!/usr/bin/env bash
# Throughput and added latency of one data plane in front of a fast mock
# upstream, against the same mock called directly. The load generator, the
# mock, the data plane and (unless BENCH_CP=off) the control plane with its
# database all share this machine.
#
#   bash bench/run.sh                 # control plane co-located (SQLite)
#   BENCH_CP=off bash bench/run.sh    # control plane stopped after the first
#                                     # snapshot, as if on another host
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tg_bench bash bench/run.sh
#   BENCH_STREAM=1 bash bench/run.sh  # streamed requests
#   BENCH_KEY=1 bash bench/run.sh     # as a virtual key with rpm, tpm and a
#                                     # budget: fleet-wide limits on
#
# Two kinds of runs, both with oha:
# - closed loop at 1, 16 and 64 connections: maximum throughput; latency
#   there is mostly queueing at saturation;
# - open loop at a fixed rate (BENCH_RATE, default 10000 req/s) over 64
#   connections, with latency correction: the overhead a client sees at a
#   given load (the TensorZero / Bifrost method).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-8s}
connections=${BENCH_CONNECTIONS:-"1 16 64"}
rate=${BENCH_RATE:-10000}

. bench/lib.sh

write_bench_config

db_args=()
[ -n "${BENCH_DATABASE_URL:-}" ] && db_args=(--database-url "$BENCH_DATABASE_URL")
start_cluster "${db_args[@]}"
bearer=sk-bench-master
if [ "${BENCH_KEY:-0}" = 1 ]; then
  # In force on the data plane when /key/generate returns: no wait needed.
  bearer=$(generate_limited_key "http://127.0.0.1:$dp_port")
fi
if [ "${BENCH_CP:-on}" = off ]; then
  kill "$cp_pid"
fi

stream=false
[ "${BENCH_STREAM:-0}" = 1 ] && stream=true
body="{\"model\":\"bench\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you today?\"}]}"

# Prints "rps p50_us p99_us success_rate".
measure() { # url connections [extra oha args]
  local url=$1 c=$2; shift 2
  oha_post "$url" "$bearer" "$body" "$c" "$@"
}
direct="http://127.0.0.1:$mock_port/v1/chat/completions"
gateway="http://127.0.0.1:$dp_port/v1/chat/completions"
duration=2s measure "$gateway" 8 >/dev/null # warm the connection pools

printf '| load | direct rps | gateway rps | direct p50 | gateway p50 | added p50 | direct p99 | gateway p99 | added p99 | success |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for c in $connections; do
  row "closed, c=$c" "$(measure "$direct" "$c")" "$(measure "$gateway" "$c")"
done
row "$rate req/s, c=64" "$(measure "$direct" 64 -q "$rate" --latency-correction)" \
  "$(measure "$gateway" 64 -q "$rate" --latency-correction)"
echo
echo "data plane peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$dp_pid/status") / 1024 )) MiB"
