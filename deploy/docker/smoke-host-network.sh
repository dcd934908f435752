#!/usr/bin/env bash
# Runs the stack's Tollgate containers once from the built image, with host networking only (no
# traffic to the Docker bridge): two control planes on a local PostgreSQL database, three data
# planes, and the image's mock provider as the upstream. Then, from the host: each data plane's
# Docker HEALTHCHECK must turn healthy, a key made through data plane 1 must answer a chat on
# data planes 2 and 3 at once (the openai SDK), and each container must run as uid 10001.
# Not part of CI (no image can be built there); docs/DEPLOYMENT.md records the result.
#
#   DOCKER_BUILDKIT=1 docker build --network host -t tollgate:latest .
#   bash deploy/docker/smoke-host-network.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
docker=${DOCKER:-docker}
image=${TOLLGATE_IMAGE:-tollgate:latest}
python=${PYTHON:-.venv/bin/python}
pg=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
db=tollgate_docker_smoke
base=${SMOKE_BASE_PORT:-24000}
mock_port=$base cp_grpc=($((base + 51)) $((base + 52))) cp_http=($((base + 11)) $((base + 12)))
dp_port=($((base + 1)) $((base + 2)) $((base + 3)))
master=sk-smoke-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
work=$(mktemp -d)
names=()
cleanup() {
  for n in "${names[@]}"; do "$docker" rm -f "$n" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
cat >"$work/litellm_config.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:$mock_port/v1
      api_key: sk-upstream
YAML
chmod 644 "$work/litellm_config.yaml"

run() { # name, then docker run arguments
  local name=$1; shift
  names+=("$name")
  "$docker" run -d --name "$name" --network host "$@" >/dev/null
}
run smoke-mock --entrypoint tollgate-mock-provider "$image" --host 127.0.0.1 --port "$mock_port" --no-record
for i in 0 1; do
  run "smoke-cp-$i" -v "$work/litellm_config.yaml:/etc/tollgate/litellm_config.yaml:ro" \
    -e TOLLGATE_CONFIG=/etc/tollgate/litellm_config.yaml -e DATABASE_URL="$pg/$db" \
    -e LITELLM_MASTER_KEY="$master" -e TOLLGATE_CLUSTER_TOKEN="$token" \
    -e TOLLGATE_GRPC_LISTEN="127.0.0.1:${cp_grpc[$i]}" -e TOLLGATE_CP_HTTP_LISTEN="127.0.0.1:${cp_http[$i]}" \
    -e TOLLGATE_HEALTH_URL="http://127.0.0.1:${cp_http[$i]}/health/liveliness" "$image" tollgate-control-plane
done
for i in 0 1 2; do
  run "smoke-dp-$((i + 1))" -e TOLLGATE_LISTEN="127.0.0.1:${dp_port[$i]}" \
    -e TOLLGATE_CONTROL_PLANE="http://127.0.0.1:${cp_grpc[0]},http://127.0.0.1:${cp_grpc[1]}" \
    -e TOLLGATE_CLUSTER_TOKEN="$token" -e TOLLGATE_NODE_ID="data-plane-$((i + 1))" \
    -e TOLLGATE_HEALTH_URL="http://127.0.0.1:${dp_port[$i]}/health/liveliness" "$image" tollgate-data-plane
done

# Docker's own HEALTHCHECK (interval 10 s, start period 20 s) decides; this waits for it. The
# standby control plane is alive (healthy) too; its /health says which one is active.
for n in "${names[@]}"; do
  [ "$n" = smoke-mock ] && continue
  for _ in $(seq 1 60); do
    status=$("$docker" inspect -f '{{.State.Health.Status}}' "$n")
    [ "$status" = healthy ] && break
    [ "$("$docker" inspect -f '{{.State.Running}}' "$n")" = true ] || { "$docker" logs "$n" | tail -20; exit 1; }
    sleep 1
  done
  echo "$n: $status, uid $("$docker" exec "$n" id -u)"
  [ "$status" = healthy ] || { "$docker" logs "$n" | tail -20; exit 1; }
done
for i in 0 1; do # which one is active: 200 on the leader, 503 "standby" on the other
  echo "smoke-cp-$i /health: $(curl -s -w ' (%{http_code})' "http://127.0.0.1:${cp_http[$i]}/health")"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${cp_http[0]}/health")" = 200 ] || exit 1
curl -s "http://127.0.0.1:${cp_http[1]}/health" | grep -q '"status":"standby"' || exit 1

MASTER=$master DP_PORTS="${dp_port[*]}" "$python" - <<'PY'
import os, httpx, openai
ports = os.environ["DP_PORTS"].split()
master = os.environ["MASTER"]
made = httpx.post(f"http://127.0.0.1:{ports[0]}/key/generate", json={"models": ["gpt-4o-mini"]},
                  headers={"Authorization": f"Bearer {master}"}, timeout=10)
made.raise_for_status()
assert made.headers["x-tollgate-applied"] == "3/3", made.headers.get("x-tollgate-applied")
for port in ports[1:]:
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=made.json()["key"], max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    print(f"data plane :{port}: {answer.choices[0].message.content!r}, {answer.usage.total_tokens} tokens")
PY
# Failover: the active control plane's container is killed; the standby takes the lock, serves
# (its /health turns 200), and a management write is in force on all three data planes again.
"$docker" kill smoke-cp-0 >/dev/null
killed=$(date +%s.%N)
for _ in $(seq 1 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${cp_http[1]}/health")" = 200 ] && break
  sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${cp_http[1]}/health")" = 200 ] || { "$docker" logs smoke-cp-1 | tail -20; exit 1; }
echo "smoke-cp-1: active after the active one was killed ($(awk -v a="$killed" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s)"
for _ in $(seq 1 30); do
  applied=$(curl -s -o /dev/null -w '%header{x-tollgate-applied}' -X POST "http://127.0.0.1:${dp_port[0]}/key/generate" \
    -H "authorization: Bearer $master" -H 'content-type: application/json' -d '{}')
  [ "$applied" = 3/3 ] && break
  sleep 1 # the data planes reconnect to the new active control plane
done
echo "key generated after failover: applied $applied"
[ "$applied" = 3/3 ]
"$docker" image ls "$image" --format 'image {{.Repository}}:{{.Tag}} {{.Size}}'
