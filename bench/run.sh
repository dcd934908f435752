#!/usr/bin/env bash
# Throughput and added latency of one data plane in front of a fast mock
# upstream, against the same mock called directly. Everything (load
# generator, mock, data plane, control plane, database) shares this machine.
#
#   bash bench/run.sh            # SQLite control plane, non-streamed
#   BENCH_STREAM=1 bash bench/run.sh
#   BENCH_CP=off bash bench/run.sh   # control plane stopped after the first snapshot
#   BENCH_DURATION=20 BENCH_CONNECTIONS="1 16 64" bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-10}
connections=${BENCH_CONNECTIONS:-"1 16 64"}
threads=${BENCH_THREADS:-2}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
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
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
general_settings:
  master_key: sk-bench-master
YAML

grpc_port=$(free_port); cp_http=$(free_port); dp_port=$(free_port)
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
RUST_LOG=warn "$bin/tollgate-control-plane" --config "$work/config.yaml" --data-dir "$work/cp" \
  --grpc-listen "127.0.0.1:$grpc_port" --http-listen "127.0.0.1:$cp_http" \
  --cluster-token "$token" 2>"$work/cp.log" & pids+=($!)
RUST_LOG=warn "$bin/tollgate-data-plane" --listen "127.0.0.1:$dp_port" \
  --control-plane "http://127.0.0.1:$grpc_port" --cluster-token "$token" \
  --state-dir "$work/dp" 2>"$work/dp.log" & pids+=($!)
dp_pid=${pids[-1]}

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null

run() { # url connections
  wrk -t"$threads" -c"$2" -d"${duration}s" -s bench/chat.lua "$1" | grep '^RESULT'
}
field() { sed -E "s/.*$1=([0-9]+).*/\1/" <<<"$2"; }

if [ "${BENCH_CP:-on}" = off ]; then
  # Data plane alone: stop the control plane once the snapshot is applied
  # (usage records then stay in the data plane's bounded buffer).
  kill "${pids[1]}"
fi

# Warm up connection pools.
wrk -t1 -c8 -d2s -s bench/chat.lua "http://127.0.0.1:$dp_port/v1/chat/completions" >/dev/null

printf '| concurrency | direct rps | gateway rps | direct p50 | gateway p50 | added p50 | direct p99 | gateway p99 | added p99 | errors |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for c in $connections; do
  threads_now=$(( c < threads ? c : threads ))
  direct=$(threads=$threads_now run "http://127.0.0.1:$mock_port/v1/chat/completions" "$c")
  gateway=$(threads=$threads_now run "http://127.0.0.1:$dp_port/v1/chat/completions" "$c")
  dp50=$(field p50_us "$direct"); gp50=$(field p50_us "$gateway")
  dp99=$(field p99_us "$direct"); gp99=$(field p99_us "$gateway")
  printf '| %s | %s | %s | %s µs | %s µs | %s µs | %s µs | %s µs | %s µs | %s |\n' "$c" \
    "$(field rps "$direct")" "$(field rps "$gateway")" "$dp50" "$gp50" "$((gp50 - dp50))" \
    "$dp99" "$gp99" "$((gp99 - dp99))" "$(field errors "$gateway")"
done
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$dp_pid/status")
echo
echo "data plane peak RSS: $((rss_kb / 1024)) MiB"
