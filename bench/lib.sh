# Shared by the oha benchmarks (sourced, not run): release binaries, a mock
# upstream, one control plane and one data plane on free loopback ports, and
# oha's summary as "rps p50_us p99_us success_rate".
#
# BENCH_BIN_DIR=target/debug uses already built binaries instead of building
# release ones (a quick check that a script still runs; not for numbers).

command -v oha >/dev/null || cargo install oha --locked
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  bin=$BENCH_BIN_DIR
else
  # `tollgate` (the one-process gateway) for side_by_side.sh.
  cargo build --release -q -p tollgate-data-plane -p tollgate-control-plane -p tollgate-mock-provider -p tollgate
  bin=target/release
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mock_port=$(free_port)
"$bin/tollgate-mock-provider" --port "$mock_port" --no-record >/dev/null 2>&1 & pids+=($!)

# The one-model config every throughput benchmark uses: model group `bench`
# on the mock, the master key sk-bench-master. The model has a price (gpt-4o's)
# as a real one does: a free model costs nothing, so a key's `max_budget`
# would reserve nothing and the budget path would go unmeasured.
write_bench_config() {
  cat >"$work/config.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
general_settings:
  master_key: sk-bench-master
YAML
}

# A virtual key with rpm, tpm and a budget, all too high ever to refuse: the
# cost measured is the checking (and the budget's reservations). Printed.
# generate_limited_key base_url
generate_limited_key() {
  curl -fs "$1/key/generate" -H 'authorization: Bearer sk-bench-master' \
    -H 'content-type: application/json' \
    -d '{"rpm_limit": 1000000000, "tpm_limit": 1000000000000, "max_budget": 1000000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# Starts a control plane on "$work/config.yaml" (extra arguments go to it)
# and a data plane, and waits until the data plane serves its snapshot.
# Sets cp_pid, dp_pid and dp_port.
start_cluster() {
  local grpc_port cp_http token
  grpc_port=$(free_port); cp_http=$(free_port); dp_port=$(free_port)
  token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  RUST_LOG=warn "$bin/tollgate-control-plane" --config "$work/config.yaml" --data-dir "$work/cp" \
    --grpc-listen "127.0.0.1:$grpc_port" --http-listen "127.0.0.1:$cp_http" \
    --cluster-token "$token" "$@" 2>"$work/cp.log" & cp_pid=$!; pids+=($cp_pid)
  RUST_LOG=warn "$bin/tollgate-data-plane" --listen "127.0.0.1:$dp_port" \
    --control-plane "http://127.0.0.1:$grpc_port" --cluster-token "$token" \
    --state-dir "$work/dp" 2>"$work/dp.log" & dp_pid=$!; pids+=($dp_pid)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$dp_port/health/readiness" >/dev/null
}

# One oha run of POST requests for $duration, summarised:
# oha_post url bearer body connections [extra oha args] → "rps p50_us p99_us success_rate".
oha_post() {
  local url=$1 bearer=$2 body=$3 c=$4; shift 4
  oha --no-tui --output-format json -z "$duration" -c "$c" -m POST \
    -H 'content-type: application/json' -H "authorization: Bearer $bearer" \
    -d "$body" "$@" "$url" | oha_summary
}

# oha's JSON report (stdin) → "rps p50_us p99_us success_rate".
oha_summary() {
  python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["summary"]; p=d["latencyPercentiles"]; print("%.0f %.0f %.0f %.3f" % (s["requestsPerSec"], p["p50"]*1e6, p["p99"]*1e6, s["successRate"]))'
}

# One markdown row comparing a baseline and a measured summary:
# row label baseline measured.
row() {
  local brps bp50 bp99 mrps mp50 mp99 mok
  read -r brps bp50 bp99 _ <<<"$2"; read -r mrps mp50 mp99 mok <<<"$3"
  printf '| %s | %s | %s | %s µs | %s µs | %s µs | %s µs | %s µs | %s µs | %s |\n' "$1" \
    "$brps" "$mrps" "$bp50" "$mp50" "$((mp50 - bp50))" "$bp99" "$mp99" "$((mp99 - bp99))" "$mok"
}
