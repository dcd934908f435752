"""A fleet with 100,000 virtual keys: data-plane memory, full-sync time, and what one
key change costs when every change republishes the whole snapshot.

Starts a control plane (SQLite) once to create the schema and a template key, inserts
N keys straight into the database (the API would republish N times), restarts the
control plane, then starts a data plane and measures: time from process start to
ready (connect + receive + verify + decode + build the runtime), resident memory once
ready against a data plane with no keys, the snapshot's size, and the time from one
/key/generate to the new key working on that data plane.

    cargo build --release --bins && .venv/bin/python bench/keys_scale.py [N]
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchlib import BIN, CHAT, MASTER, free_port, wait


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Fleet:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.token = secrets.token_hex(16)
        self.grpc = free_port()
        self.http = free_port()
        self.env = {**os.environ, "RUST_LOG": "warn"}
        (work / "c.yaml").write_text(
            "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, mock_response: ok}\n"
            f"general_settings: {{master_key: {MASTER}}}\n"
        )

    def control_plane(self) -> subprocess.Popen:
        p = subprocess.Popen(
            [BIN / "tollgate-control-plane", "--config", self.work / "c.yaml", "--data-dir", self.work / "cp",
             "--grpc-listen", f"127.0.0.1:{self.grpc}", "--http-listen", f"127.0.0.1:{self.http}",
             "--cluster-token", self.token],
            env=self.env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait(lambda: httpx.get(f"http://127.0.0.1:{self.http}/api/status", headers={"Authorization": f"Bearer {MASTER}"}).status_code == 200 if _up(self.http) else False, 60.0)
        return p

    def data_plane(self, name: str) -> tuple[subprocess.Popen, httpx.Client, float]:
        port = free_port()
        start = time.perf_counter()
        p = subprocess.Popen(
            [BIN / "tollgate-data-plane", "--listen", f"127.0.0.1:{port}",
             "--control-plane", f"http://127.0.0.1:{self.grpc}", "--cluster-token", self.token,
             "--state-dir", self.work / name],
            env=self.env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False)
        wait(lambda: _up(port) and client.get("/health/readiness").status_code == 200, 60.0)
        return p, client, time.perf_counter() - start


def _up(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def seed_keys(work: Path, template_token: str, n: int) -> list[str]:
    """Inserts ``n`` copies of the template key straight into the control plane's SQLite
    database (the API would publish n times); returns their plaintexts."""
    db = sqlite3.connect(work / "cp" / "tollgate.db")
    cols = [r[1] for r in db.execute("PRAGMA table_info(virtual_keys)")]
    row = dict(zip(cols, db.execute("SELECT * FROM virtual_keys WHERE token = ?", (template_token,)).fetchone(), strict=True))
    keys = [f"sk-bench-{i:08d}-{secrets.token_hex(8)}" for i in range(n)]
    rows = []
    for i, k in enumerate(keys):
        r = dict(row)
        r["token"] = hashlib.sha256(k.encode()).hexdigest()
        r["key_name"] = f"sk-...{k[-4:]}"
        r["key_alias"] = r["active_alias"] = f"bench-{i}"
        rows.append(tuple(r[c] for c in cols))
    db.executemany(f"INSERT INTO virtual_keys ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", rows)
    db.commit()
    db.close()
    return keys


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = Path(tempfile.mkdtemp())
    fleet = Fleet(work)
    admin = {"Authorization": f"Bearer {MASTER}"}
    procs: list[subprocess.Popen] = []
    try:
        cp = fleet.control_plane()
        base, base_client, base_ready = fleet.data_plane("dp-empty")
        time.sleep(1.0)
        base_rss = rss_mib(base.pid)
        template = base_client.post("/key/generate", json={"models": ["m"], "rpm_limit": 1000, "metadata": {"team": "bench"}}, headers=admin).json()
        base.terminate()
        base.wait()
        cp.terminate()
        cp.wait()

        keys = seed_keys(work, template["token"], n)

        t0 = time.perf_counter()
        cp = fleet.control_plane()
        cp_start = time.perf_counter() - t0
        procs.append(cp)
        dp, client, ready = fleet.data_plane("dp-full")
        procs.append(dp)
        time.sleep(1.0)
        full_rss = rss_mib(dp.pid)
        snapshot = work / "dp-full" / "snapshot.bin"
        size_mib = snapshot.stat().st_size / 2**20 if snapshot.exists() else float("nan")
        sample = keys[n // 2]
        assert client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {sample}"}).status_code == 200

        changes = []
        for _ in range(10):
            t = time.perf_counter()
            new = client.post("/key/generate", json={}, headers=admin).json()["key"]
            wait(lambda new=new: client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {new}"}).status_code == 200, 60.0)
            changes.append(time.perf_counter() - t)
        print(f"| keys | {n:,} |")
        print("| --- | --- |")
        print(f"| control plane start (load keys, build, encode, store the snapshot) | {cp_start:.2f} s |")
        print(f"| snapshot on disk (data plane's copy) | {size_mib:.1f} MiB |")
        print(f"| data plane start → ready, full sync | {ready:.2f} s (no keys: {base_ready:.2f} s) |")
        print(f"| data plane RSS when ready | {full_rss:.0f} MiB (no keys: {base_rss:.0f} MiB) → {(full_rss - base_rss) * 2**20 / n:.0f} B per key |")
        print(f"| one /key/generate → enforced (a delta; the call returns once applied), median of 10 | {statistics.median(changes) * 1e3:.0f} ms (max {max(changes) * 1e3:.0f} ms) |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
