#!/usr/bin/env bash
# The time one fallback hop adds: the same small chat completion sent through
# one data plane to a model group that answers (`direct`) and to one whose only
# deployment fails fast (the mock's `mock-500`, an immediate HTTP 500) and
# falls back to `direct` (`num_retries: 0`, `fallbacks: [{primary: [direct]}]`).
# The difference is one failed upstream round trip plus the router's failure
# handling (classification, fallback choice, a second pick).
#
#   bash bench/fallback.sh
#
# Release binaries, oha as the load generator, the control plane stopped once
# the data plane has its snapshot (as if on another host). Closed loop at 1
# and 16 connections, then a fixed 2,000 req/s over 16 connections with
# latency correction.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-8s}

. bench/lib.sh

cat >"$work/config.yaml" <<YAML
model_list:
  - model_name: direct
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
  - model_name: primary
    litellm_params:
      model: openai/mock-500
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
router_settings:
  num_retries: 0
  fallbacks: [{primary: [direct]}]
general_settings:
  master_key: sk-bench-master
YAML

start_cluster
kill "$cp_pid"

url="http://127.0.0.1:$dp_port/v1/chat/completions"
# Prints "rps p50_us p99_us success_rate".
measure() { # model connections [extra oha args]
  local model=$1 c=$2; shift 2
  oha_post "$url" sk-bench-master \
    "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you today?\"}]}" "$c" "$@"
}
# Every fallback answer must be a success served by `direct`.
check=$(curl -fsS -D - -o /dev/null -H 'authorization: Bearer sk-bench-master' -H 'content-type: application/json' \
  -d '{"model":"primary","messages":[{"role":"user","content":"hi"}]}' "$url" | tr -d '\r')
grep -qi '^x-litellm-attempted-fallbacks: 1$' <<<"$check" || { echo "primary did not fall back:"; echo "$check"; exit 1; }

duration=2s measure direct 8 >/dev/null # warm the connection pools
duration=2s measure primary 8 >/dev/null

printf '| load | direct rps | fallback rps | direct p50 | fallback p50 | added p50 | direct p99 | fallback p99 | added p99 | success |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for c in 1 16; do
  row "closed, c=$c" "$(measure direct "$c")" "$(measure primary "$c")"
done
row "2,000 req/s, c=16" "$(measure direct 16 -q 2000 --latency-correction)" \
  "$(measure primary 16 -q 2000 --latency-correction)"
