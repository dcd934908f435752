"""Two control planes on one PostgreSQL: one active (the leader lock), one standing by. The
data planes are given both addresses and follow the active one."""

from __future__ import annotations

import time

from harness import wait_until
from topology import Load


def test_sigkill_active_control_plane_standby_takes_over(topology, figures):
    t = topology(control_planes=2)
    active, standby = t.cps
    assert not standby.healthy(), "the standby listens on nothing until elected"
    key, _ = t.generate_key()
    version_before = active.status()["snapshot"]["version"]
    with Load(t.base_url, key, clients=6) as load:
        load.wait_requests(150)
        killed_at = time.monotonic()
        active.kill()
        standby.wait_healthy(timeout=15)
        takeover = time.monotonic() - killed_at

        # management writes work again, through the LB, in force on all three data planes
        def write_applied() -> str | None:
            _, applied = t.generate_key()
            return applied if applied == "3/3" else None

        wait_until(write_applied, timeout=20, interval=0.2, desc="a write applied 3/3 on the new leader")
        writes_back = time.monotonic() - killed_at
        load.wait_requests(300)
        # the old leader comes back as the standby
        active.start(wait_healthy=False)
        load.wait_requests(100)

    assert t.active_cp() is standby
    version_after = standby.status()["snapshot"]["version"]
    failed = load.failed
    ids = load.ok_ids()
    rows = t.wait_logged(ids, timeout=30)
    lost = ids - rows.keys()
    logs, logged_spend, running_spend = t.key_spend(key)
    nodes = {n["node_id"]: n for n in standby.status()["data_planes"]}
    figures.record(
        requests=len(load.outcomes),
        ok=len(load.ok),
        failed=len(failed),
        takeover_seconds=round(takeover, 2),
        writes_back_seconds=round(writes_back, 2),
        version_before=version_before,
        version_after=version_after,
        usage_rows=logs,
        usage_lost=len(lost),
    )
    assert failed == [], f"{len(failed)} requests with a known key failed: {failed[:3]}"
    assert version_after > version_before, "versions stay monotonic across the failover"
    assert all(nodes[dp.node_id]["connected"] and nodes[dp.node_id]["in_sync"] for dp in t.dps), nodes
    assert lost == set() and logs == len(load.ok), "0 usage lost, none doubled"
    assert running_spend == logged_spend, "the key's spend total counts each request once"
