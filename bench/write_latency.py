"""Management write latency including the fleet-wide apply: how long /key/generate and
/key/block take to return — which is when every connected data plane enforces the change
(read-your-writes) — with 1 and 3 data planes, at a small and a large key count.

Seeds N keys straight into the control plane's SQLite database (as keys_scale.py does),
starts the control plane and the data planes, checks every write answered
`x-tollgate-applied: <dps>/<dps>`, and prints p50/p99 over the writes.

    cargo build --release --bins && .venv/bin/python bench/write_latency.py [N ...] [--writes W]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchlib import CHAT, MASTER
from keys_scale import Fleet, seed_keys


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(n: int, dps: int, writes: int) -> tuple[list[float], list[float]]:
    work = Path(tempfile.mkdtemp())
    fleet = Fleet(work)
    admin = {"Authorization": f"Bearer {MASTER}"}
    procs: list[subprocess.Popen] = []
    try:
        cp = fleet.control_plane()
        seed, client, _ = fleet.data_plane("dp-seed")
        template = client.post("/key/generate", json={"models": ["m"], "rpm_limit": 1000}, headers=admin).json()
        seed.terminate()
        seed.wait()
        cp.terminate()
        cp.wait()
        seed_keys(work, template["token"], max(0, n - 1))
        procs.append(fleet.control_plane())
        clients: list[httpx.Client] = []
        for i in range(dps):
            p, c, _ = fleet.data_plane(f"dp-{i}")
            procs.append(p)
            clients.append(c)
        generate, block = [], []
        for i in range(writes):
            t = time.perf_counter()
            r = clients[0].post("/key/generate", json={}, headers=admin)
            generate.append(time.perf_counter() - t)
            assert r.headers.get("x-tollgate-applied") == f"{dps}/{dps}", r.headers
            key = r.json()["key"]
            # In force on the last data plane the moment the write returned.
            assert clients[-1].post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}).status_code == 200
            t = time.perf_counter()
            r = clients[0].post("/key/block", json={"key": key}, headers=admin)
            block.append(time.perf_counter() - t)
            assert r.headers.get("x-tollgate-applied") == f"{dps}/{dps}", r.headers
            assert clients[-1].post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}).status_code == 401
        return generate, block
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("keys", nargs="*", type=int, default=[10, 100_000])
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    print("| keys | data planes | /key/generate p50 | p99 | /key/block p50 | p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in args.keys:
        for dps in (1, 3):
            generate, block = measure(n, dps, args.writes)
            ms = lambda s: f"{s * 1e3:.1f} ms"  # noqa: E731
            print(
                f"| {n:,} | {dps} | {ms(percentile(generate, 0.5))} | {ms(percentile(generate, 0.99))} "
                f"| {ms(percentile(block, 0.5))} | {ms(percentile(block, 0.99))} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
