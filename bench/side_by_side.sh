#!/usr/bin/env bash
# Tollgate against LiteLLM, side by side in one run on this machine: the mock
# upstream called directly, the one-process gateway (`tollgate`, embedded
# SQLite), the control plane and data plane as two processes, and LiteLLM
# from PyPI (the differential suite's venv, .venv-litellm) with 2 workers.
# Each gateway runs alone beside the mock while it is measured.
#
#   bash bench/side_by_side.sh
#   BENCH_OTEL_SAMPLE=0.1 bash bench/side_by_side.sh   # Tollgate traced at 10 %
#   BENCH_DURATION=2s BENCH_BIN_DIR=target/debug bash bench/side_by_side.sh  # a quick check, not numbers
#
# Tollgate is measured the way a production caller uses it: a virtual key with
# rpm, tpm and a budget (limits checked, the budget reserved, usage reported
# and ingested). LiteLLM runs without a database, so it gets the master key:
# no key lookup, no spend write — the comparison flatters it.
#
# Per gateway, JSON and streamed (`stream: true`): closed loop at 1, 16 and
# 64 connections, an open loop at BENCH_RATE (default 5,000 req/s) over 64
# connections with oha's latency correction, time to first byte at c=1 (curl,
# median of 300), peak RSS. "added" is the gateway minus the direct mock.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-6s}
rate=${BENCH_RATE:-5000}
ttfb_runs=${BENCH_TTFB_RUNS:-300}
litellm_workers=${BENCH_LITELLM_WORKERS:-2}
litellm=${BENCH_LITELLM:-.venv-litellm/bin/litellm}
[ -x "$litellm" ] || PYTHONPATH=tests/e2e python3 tests/compat/litellm_env.py >/dev/null
[ -x "$litellm" ] || { echo "LiteLLM is not installed at $litellm" >&2; exit 1; }

. bench/lib.sh
write_bench_config

if [ -n "${BENCH_OTEL_SAMPLE:-}" ]; then
  python=.venv/bin/python
  sink_port=$(free_port)
  "$python" tests/e2e/otlp_receiver.py --port "$sink_port" --discard >"$work/sink.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do grep -q '^listening' "$work/sink.log" && break; sleep 0.1; done
  grep -q '^listening' "$work/sink.log" || { echo "the OTLP sink did not start:"; cat "$work/sink.log"; exit 1; }
fi
# OTEL_* for Tollgate's processes only (LiteLLM's config has no otel callback).
otel_on() {
  [ -n "${BENCH_OTEL_SAMPLE:-}" ] || return 0
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG="$BENCH_OTEL_SAMPLE"
}
otel_off() { unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_TRACES_SAMPLER OTEL_TRACES_SAMPLER_ARG; }

body_json='{"model":"bench","messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
body_stream='{"model":"bench","stream":true,"messages":[{"role":"user","content":"Hello there, how are you today?"}]}'


# ttfb url bearer body → median time to the first response byte, µs.
ttfb() {
  for _ in $(seq 1 "$ttfb_runs"); do
    curl -s -o /dev/null -w '%{time_starttransfer}\n' -X POST "$1" \
      -H 'content-type: application/json' -H "authorization: Bearer $2" -d "$3"
  done | sort -n | awk '{v[NR]=$1} END {printf "%.0f\n", v[int((NR+1)/2)]*1e6}'
}

declare -A res
# run_all name url bearer: every point, JSON and streamed, into res[name,mode,point].
run_all() {
  local name=$1 url=$2 bearer=$3 mode body c
  for mode in json stream; do
    [ "$mode" = json ] && body=$body_json || body=$body_stream
    duration=2s oha_post "$url" "$bearer" "$body" 16 >/dev/null # warm pools and caches
    for c in 1 16 64; do
      res[$name,$mode,c$c]=$(oha_post "$url" "$bearer" "$body" "$c")
    done
    res[$name,$mode,open]=$(oha_post "$url" "$bearer" "$body" 64 -q "$rate" --latency-correction)
    res[$name,$mode,ttfb]=$(ttfb "$url" "$bearer" "$body")
  done
}
peak_rss_mib() { # pid…: the sum of their peak resident sets
  local total=0 p kb
  for p in "$@"; do
    kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo $((total / 1024))
}
wait_http() { # url: until it answers 200 (a process starting up: there is no call to wait on)
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}
declare -A rss

# --- the mock alone
run_all direct "http://127.0.0.1:$mock_port/v1/chat/completions" sk-upstream

# --- one process: control plane and data plane in `tollgate`
port=$(free_port)
otel_on
RUST_LOG=warn "$bin/tollgate" --config "$work/config.yaml" --host 127.0.0.1 --port "$port" \
  --data-dir "$work/one" --grpc-port "$(free_port)" >"$work/one.out" 2>"$work/one.log" & one_pid=$!; pids+=($one_pid)
wait_http "http://127.0.0.1:$port/health/readiness"
run_all one "http://127.0.0.1:$port/v1/chat/completions" "$(generate_limited_key "http://127.0.0.1:$port")"
rss[one]="$(peak_rss_mib "$one_pid") MiB"
kill "$one_pid"; wait "$one_pid" 2>/dev/null || true

# --- control plane and data plane as two processes
start_cluster
otel_off
run_all split "http://127.0.0.1:$dp_port/v1/chat/completions" "$(generate_limited_key "http://127.0.0.1:$dp_port")"
rss[split]="DP $(peak_rss_mib "$dp_pid") MiB, CP $(peak_rss_mib "$cp_pid") MiB"
kill "$cp_pid" "$dp_pid"; wait "$cp_pid" "$dp_pid" 2>/dev/null || true

# --- LiteLLM, in its own process group (its workers are children)
port=$(free_port)
(cd "$work" && exec setsid env LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False LITELLM_LOG=ERROR \
  DISABLE_ADMIN_UI=True NO_PROXY='*' no_proxy='*' "$OLDPWD/$litellm" --config "$work/config.yaml" \
  --host 127.0.0.1 --port "$port" --num_workers "$litellm_workers" >"$work/litellm.log" 2>&1) & litellm_pid=$!
pids+=($litellm_pid)
wait_http "http://127.0.0.1:$port/health/liveliness" || { tail -20 "$work/litellm.log"; exit 1; }
run_all litellm "http://127.0.0.1:$port/v1/chat/completions" sk-bench-master
rss[litellm]="$(peak_rss_mib $(pgrep -g "$litellm_pid")) MiB (all workers)"
kill -TERM -- "-$litellm_pid" 2>/dev/null || true; wait "$litellm_pid" 2>/dev/null || true

# --- the tables
label() { case $1 in direct) echo "direct mock";; one) echo "Tollgate, one process (\`tollgate\`, SQLite)";;
  split) echo "Tollgate, CP and DP as processes";; litellm) echo "LiteLLM $("${litellm%/litellm}/python" -c \
  'import importlib.metadata as m; print(m.version("litellm"))'), $litellm_workers workers, master key";; esac; }
field() { local -a f; read -r -a f <<<"$1"; echo "${f[$2]}"; } # rps=0 p50=1 p99=2 ok=3
ms() { awk -v us="$1" 'BEGIN { printf (us < 0 ? "−%.2f ms" : "+%.2f ms"), (us < 0 ? -us : us) / 1000 }'; }
echo "duration $duration per point; open loop $rate req/s over 64 connections (latency-corrected)"
[ -n "${BENCH_OTEL_SAMPLE:-}" ] && echo "Tollgate traced: parentbased_traceidratio $BENCH_OTEL_SAMPLE, exported over OTLP/gRPC"
for mode in json stream; do
  echo
  echo "### $mode"
  echo
  echo "| | c=1 added p50 | c=1 added TTFB | c=16 rps | c=64 rps | c=64 added p99 | $rate req/s added p99 | share of direct rps at c=64 | × LiteLLM rps at c=64 | success (c=64) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  d1=${res[direct,$mode,c1]} d64=${res[direct,$mode,c64]} dopen=${res[direct,$mode,open]}
  l64=$(field "${res[litellm,$mode,c64]}" 0)
  for t in direct one split litellm; do
    r1=${res[$t,$mode,c1]} r16=${res[$t,$mode,c16]} r64=${res[$t,$mode,c64]} ropen=${res[$t,$mode,open]}
    if [ "$t" = direct ]; then
      printf '| %s | %s µs p50 | %s µs TTFB | %s | %s | %s µs p99 | %s µs p99 | 100 %% | — | %s |\n' "$(label $t)" \
        "$(field "$r1" 1)" "${res[$t,$mode,ttfb]}" "$(field "$r16" 0)" "$(field "$r64" 0)" "$(field "$r64" 2)" \
        "$(field "$ropen" 2)" "$(field "$r64" 3)"
      continue
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s %% | %s× | %s |\n' "$(label $t)" \
      "$(ms $(($(field "$r1" 1) - $(field "$d1" 1))))" "$(ms $((${res[$t,$mode,ttfb]} - ${res[direct,$mode,ttfb]})))" \
      "$(field "$r16" 0)" "$(field "$r64" 0)" "$(ms $(($(field "$r64" 2) - $(field "$d64" 2))))" \
      "$(ms $(($(field "$ropen" 2) - $(field "$dopen" 2))))" \
      "$(awk -v a="$(field "$r64" 0)" -v b="$(field "$d64" 0)" 'BEGIN { printf "%.1f", 100 * a / b }')" \
      "$(awk -v a="$(field "$r64" 0)" -v b="$l64" 'BEGIN { printf "%.0f", (b > 0 ? a / b : 0) }')" "$(field "$r64" 3)"
  done
done
echo
echo "peak RSS over the whole run: one process ${rss[one]}; split ${rss[split]}; LiteLLM ${rss[litellm]}"
