"""Two control planes on one PostgreSQL: one active (the leader lock), one standing by. The
data planes are given both addresses and follow the active one."""

from __future__ import annotations

import socket
import time

import psycopg
import pytest

from harness import wait_until
from topology import Load


def test_sigkill_active_control_plane_standby_takes_over(topology, figures):
    t = topology(control_planes=2)
    active, standby = t.cps
    # The standby holds both ports: its HTTP port says what it is, its gRPC port refuses
    # connections (bound, not listening), so the data planes given both addresses use the active one.
    wait_until(lambda: standby.health()[0] == 503 and standby.health()[1]["status"] == "standby",
               timeout=15, desc="the standby says it is the standby", fail_fast=standby.proc.exit_reason)
    status, body = standby.health()
    assert status == 503 and "leader lock" in body["detail"], body
    assert standby.liveness() == 200, "a standby is alive: Docker and liveness probes keep it"
    refused = standby.status_response()
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["type"] == "service_unavailable" and "standby" in error["message"], error
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", standby.grpc_port), timeout=1).close()
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


# control-plane/src/leader.rs: the advisory lock's key ("tollgate" in ASCII)
LEADER_LOCK_KEY = int.from_bytes(b"tollgate", "big")


def test_leader_that_loses_its_lock_steps_down(topology, figures):
    """Fencing: the leader's lock session is cut and another session holds the lock; the leader
    must stop (its supervisor would restart it as a standby), never keep acting beside another."""
    t = topology(control_planes=2)
    leader, standby = t.cps
    key, _ = t.generate_key()
    with Load(t.base_url, key, clients=4) as load:
        load.wait_requests(100)
        with psycopg.connect(t.db_url.replace("postgres://", "postgresql://", 1), autocommit=True) as intruder:
            (pid,) = intruder.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            intruder.execute("SELECT pg_terminate_backend(%s)", (pid,))
            cut_at = time.monotonic()

            # the lock goes to this session or to the standby, whichever asks first
            def someone_else_holds_it() -> str | None:
                if intruder.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()[0]:
                    return "intruder"
                return "standby" if standby.healthy() else None

            holder = wait_until(someone_else_holds_it, timeout=10, desc="another session takes the lock")
            wait_until(lambda: leader.proc.popen.poll() is not None, timeout=15, desc="the old leader stops")
            stepped_down = time.monotonic() - cut_at
            exit_code = leader.proc.popen.returncode
            if holder == "intruder":
                assert not standby.healthy(), "nobody else is active while another session holds the lock"
        standby.wait_healthy(timeout=10)  # the intruder is gone: the standby is elected
        load.wait_requests(200)
    stderr = leader.proc.stderr_path.read_text()
    figures.record(
        requests=len(load.outcomes),
        failed=len(load.failed),
        lock_taken_by=holder,
        leader_stopped_seconds=round(stepped_down, 2),
    )
    assert exit_code != 0 and "stepping down" in stderr, exit_code
    assert load.failed == [], load.failed[:3]
    assert t.active_cp() is standby
