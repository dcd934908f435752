"""How long a key change takes to be enforced by every data plane.

Starts a control plane (SQLite) and two data planes from target/release, then
N times: create a key through data plane 1 and time until data plane 2
accepts it; block it and time until data plane 2 refuses it; delete it and
time until both refuse it. Prints p50/p99/max per operation.

    cargo build --release --bins && .venv/bin/python bench/propagation.py [N]
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from benchlib import BIN, CHAT, MASTER, free_port, wait


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    work = Path(tempfile.mkdtemp())
    (work / "c.yaml").write_text(
        "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, mock_response: ok}\n"
        f"general_settings: {{master_key: {MASTER}}}\n"
    )
    token, grpc = secrets.token_hex(16), free_port()
    env = {**os.environ, "RUST_LOG": "warn"}
    procs = [
        subprocess.Popen(
            [BIN / "tollgate-control-plane", "--config", work / "c.yaml", "--data-dir", work / "cp",
             "--grpc-listen", f"127.0.0.1:{grpc}", "--http-listen", f"127.0.0.1:{free_port()}",
             "--cluster-token", token],
            env=env, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    urls = []
    for i in range(2):
        port = free_port()
        urls.append(f"http://127.0.0.1:{port}")
        procs.append(
            subprocess.Popen(
                [BIN / "tollgate-data-plane", "--listen", f"127.0.0.1:{port}",
                 "--control-plane", f"http://127.0.0.1:{grpc}", "--cluster-token", token,
                 "--state-dir", work / f"dp{i}"],
                env=env, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    try:
        dp1, dp2 = (httpx.Client(base_url=u, timeout=5, trust_env=False) for u in urls)
        wait(lambda: all(c.get("/health/readiness").status_code == 200 for c in (dp1, dp2)) or None, 20.0)
        admin = {"Authorization": f"Bearer {MASTER}"}
        status = lambda c, k: c.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {k}"}).status_code  # noqa: E731
        times: dict[str, list[float]] = {"create": [], "block": [], "delete": []}
        for _ in range(n):
            key = dp1.post("/key/generate", json={}, headers=admin).json()["key"]
            times["create"].append(wait(lambda: status(dp2, key) == 200, 10.0, poll=0))
            dp1.post("/key/block", json={"key": key}, headers=admin)
            times["block"].append(wait(lambda: status(dp2, key) == 401, 10.0, poll=0))
            dp1.post("/key/delete", json={"keys": [key]}, headers=admin)
            times["delete"].append(wait(lambda: status(dp1, key) == 401 and status(dp2, key) == 401, 10.0, poll=0))
        print(f"{n} changes each, time from the management call's response to enforcement on the other data plane")
        print("| operation | p50 | p99 | max |\n|---|---|---|---|")
        for op, t in times.items():
            t.sort()
            p99 = t[min(len(t) - 1, round(0.99 * (len(t) - 1)))]
            print(f"| {op} | {statistics.median(t) * 1e3:.2f} ms | {p99 * 1e3:.2f} ms | {t[-1] * 1e3:.2f} ms |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


if __name__ == "__main__":
    main()
