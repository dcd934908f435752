#!/usr/bin/env bash
# Two (or more) builds of the one-process gateway (`tollgate`), measured
# alternately in one run on this machine, so a change is compared with what
# it replaced under the same noise: a build per directory of release
# binaries, each started fresh ROUNDS times (default 2) beside one mock.
#
#   git worktree add ../before <commit> && (cd ../before && cargo build --release -p tollgate)
#   bash bench/ab_one_process.sh before:../before/target/release after:target/release
#
# Per start, with a virtual key carrying rpm, tpm and a max_budget (as
# side_by_side.sh): c=1 JSON, c=64 JSON, c=64 streamed, the 5,000 req/s open
# loop (latency-corrected) and the process's peak RSS. Each point prints
# "rps p50_us p99_us success_rate".
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 label:bindir [label:bindir ...]" >&2; exit 2; }

duration=${BENCH_DURATION:-6s}
rate=${BENCH_RATE:-5000}
# The mock and oha come from this checkout's build (release unless told).
BENCH_BIN_DIR=${BENCH_BIN_DIR:-target/release}
. bench/lib.sh
write_bench_config

body_json='{"model":"bench","messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
body_stream='{"model":"bench","stream":true,"messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
echo "direct mock, c=1 JSON: $(oha_post "http://127.0.0.1:$mock_port/v1/chat/completions" sk-upstream "$body_json" 1)"
echo
echo "| build | start | c=1 JSON | c=64 JSON | c=64 streamed | $rate req/s open loop | peak RSS |"
echo "|---|---|---|---|---|---|---|"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for spec in "$@"; do
    label=${spec%%:*}
    dir=${spec#*:}
    port=$(free_port)
    RUST_LOG=warn "$dir/tollgate" --config "$work/config.yaml" --host 127.0.0.1 --port "$port" \
      --data-dir "$work/$label-$round" --grpc-port "$(free_port)" >/dev/null 2>"$work/$label-$round.log" &
    pid=$!
    pids+=($pid)
    for _ in $(seq 1 300); do # a process starting up: there is no call to wait on
      curl -fs -o /dev/null "http://127.0.0.1:$port/health/readiness" 2>/dev/null && break
      sleep 0.1
    done
    key=$(generate_limited_key "http://127.0.0.1:$port")
    url="http://127.0.0.1:$port/v1/chat/completions"
    duration=2s oha_post "$url" "$key" "$body_json" 16 >/dev/null # warm pools and caches
    c1=$(oha_post "$url" "$key" "$body_json" 1)
    j64=$(oha_post "$url" "$key" "$body_json" 64)
    s64=$(oha_post "$url" "$key" "$body_stream" 64)
    open=$(oha_post "$url" "$key" "$body_json" 64 -q "$rate" --latency-correction)
    rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
    echo "| $label | $round | $c1 | $j64 | $s64 | $open | $rss MiB |"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
