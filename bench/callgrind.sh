#!/usr/bin/env bash
# Instructions per request on the data plane's hot path, under callgrind: counts, not seconds, so
# they repeat on this noisy shared machine. The mock and a control plane run natively; the data
# plane runs under valgrind; 200 warm-up requests, then the counters are zeroed and BENCH_REQUESTS
# (default 2,000) sequential requests are counted (small chat, master key), then dumped.
#
#   bash bench/callgrind.sh            # prints the top functions by self cost per request
#   BENCH_CALLERS_OF=^memcpy bash bench/callgrind.sh   # and who calls memcpy, by inclusive cost
#   BENCH_STREAM=1 bash bench/callgrind.sh             # the same chat, streamed
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${BENCH_REQUESTS:-2000}
. bench/lib.sh
write_bench_config
grpc_port=$(free_port); cp_http=$(free_port); dp_port=$(free_port)
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
RUST_LOG=warn "$bin/tollgate-control-plane" --config "$work/config.yaml" --data-dir "$work/cp" \
  --grpc-listen "127.0.0.1:$grpc_port" --http-listen "127.0.0.1:$cp_http" --cluster-token "$token" \
  2>"$work/cp.log" & pids+=($!)
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$bin/tollgate-data-plane" --listen "127.0.0.1:$dp_port" --control-plane "http://127.0.0.1:$grpc_port" \
  --cluster-token "$token" --state-dir "$work/dp" 2>"$work/dp.log" & dp_pid=$!; pids+=($dp_pid)
for _ in $(seq 1 300); do
  curl -fs -o /dev/null "http://127.0.0.1:$dp_port/health/readiness" && break
  sleep 0.2 # a process starting under valgrind
done
stream=${BENCH_STREAM:+,\"stream\":true}
body="{\"model\":\"bench\"$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you today?\"}]}"
send() {
  oha --no-tui -n "$1" -c 1 -m POST -H 'content-type: application/json' \
    -H 'authorization: Bearer sk-bench-master' -d "$body" "http://127.0.0.1:$dp_port/v1/chat/completions" >/dev/null
}
send 200
callgrind_control -z "$dp_pid" >/dev/null
send "$requests"
callgrind_control -d "$dp_pid" >/dev/null
python3 bench/callgrind_top.py "$work/callgrind.out.1" "$requests" "${BENCH_TOP:-30}" ${BENCH_CALLERS_OF:+"$BENCH_CALLERS_OF"}
