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

command -v oha >/dev/null || cargo install oha --locked
cargo build --release -q -p tollgate-data-plane -p tollgate-control-plane -p tollgate-mock-provider
bin=target/release

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mock_port=$(free_port)
"$bin/tollgate-mock-provider" --port "$mock_port" --no-record >/dev/null 2>&1 & pids+=($!)

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

grpc_port=$(free_port); cp_http=$(free_port); dp_port=$(free_port)
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
RUST_LOG=warn "$bin/tollgate-control-plane" --config "$work/config.yaml" --data-dir "$work/cp" \
  --grpc-listen "127.0.0.1:$grpc_port" --http-listen "127.0.0.1:$cp_http" \
  --cluster-token "$token" 2>"$work/cp.log" & cp_pid=$!; pids+=($cp_pid)
RUST_LOG=warn "$bin/tollgate-data-plane" --listen "127.0.0.1:$dp_port" \
  --control-plane "http://127.0.0.1:$grpc_port" --cluster-token "$token" \
  --state-dir "$work/dp" 2>"$work/dp.log" & dp_pid=$!; pids+=($dp_pid)

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null
kill "$cp_pid"

url="http://127.0.0.1:$dp_port/v1/chat/completions"
# Prints "rps p50_us p99_us success_rate".
measure() { # model connections [extra oha args]
  local model=$1 c=$2; shift 2
  oha --no-tui --output-format json -z "$duration" -c "$c" -m POST \
    -H 'content-type: application/json' -H 'authorization: Bearer sk-bench-master' \
    -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you today?\"}]}" \
    "$@" "$url" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["summary"]; p=d["latencyPercentiles"]; print("%.0f %.0f %.0f %.3f" % (s["requestsPerSec"], p["p50"]*1e6, p["p99"]*1e6, s["successRate"]))'
}
row() { # label direct fallback
  read -r drps dp50 dp99 _ <<<"$2"; read -r frps fp50 fp99 fok <<<"$3"
  printf '| %s | %s | %s | %s µs | %s µs | %s µs | %s µs | %s µs | %s µs | %s |\n' "$1" \
    "$drps" "$frps" "$dp50" "$fp50" "$((fp50 - dp50))" "$dp99" "$fp99" "$((fp99 - dp99))" "$fok"
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
