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

cat >"$work/config.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
general_settings:
  master_key: sk-bench-master
YAML

db_args=()
[ -n "${BENCH_DATABASE_URL:-}" ] && db_args=(--database-url "$BENCH_DATABASE_URL")
start_cluster "${db_args[@]}"
bearer=sk-bench-master
if [ "${BENCH_KEY:-0}" = 1 ]; then
  # Limits high enough never to refuse: the cost measured is the checking.
  bearer=$(curl -fs "http://127.0.0.1:$dp_port/key/generate" -H "authorization: Bearer $bearer" \
    -H 'content-type: application/json' \
    -d '{"rpm_limit": 1000000000, "tpm_limit": 1000000000000, "max_budget": 1000000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$dp_port/v1/models" -H "authorization: Bearer $bearer")
    [ "$code" = 200 ] && break
    sleep 0.05
  done
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
  oha --no-tui --output-format json -z "$duration" -c "$c" -m POST \
    -H 'content-type: application/json' -H "authorization: Bearer $bearer" \
    -d "$body" "$@" "$url" | oha_summary
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
