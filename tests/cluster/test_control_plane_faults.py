"""Control-plane faults through the load balancer: the data planes serve on (static
stability), usage is delivered once the control plane is back, none lost or doubled."""

from __future__ import annotations

import time

from topology import Load


def test_sigkill_control_plane_under_load_then_restart(topology, figures):
    t = topology()
    key, _ = t.generate_key()
    cp = t.cps[0]
    with Load(t.base_url, key, clients=6) as load:
        load.wait_requests(150)
        cp.kill()
        killed = len(load.outcomes)
        load.wait_requests(300)  # served with no control plane at all
        served_without_cp = len(load.outcomes) - killed
        cp.start()  # every control plane restarted: ingest resumes from the data planes' buffers
        load.wait_requests(150)
    failed = load.failed
    ids = load.ok_ids()
    rows = t.wait_logged(ids, timeout=30)
    lost = ids - rows.keys()
    logs, logged_spend, running_spend = t.key_spend(key)
    figures.record(
        requests=len(load.outcomes),
        ok=len(load.ok),
        failed=len(failed),
        served_without_control_plane=served_without_cp,
        usage_rows=logs,
        usage_lost=len(lost),
    )
    assert failed == [], f"{len(failed)} requests with a known key failed: {failed[:3]}"
    assert lost == set(), f"{len(lost)} successful requests have no usage row"
    assert logs == len(load.ok), "usage rows in PostgreSQL == the client's successful requests"
    assert running_spend == logged_spend, "the key's spend total counts each request once"


def test_data_plane_restarted_without_control_plane_serves_saved_snapshot(topology, figures):
    t = topology()
    key, _ = t.generate_key()  # in every data plane's snapshot, and so on their disks
    t.cps[0].kill()
    dp = t.dps[1]
    began = time.monotonic()
    dp.stop()
    dp.start()  # ready from its state directory: no control plane answers
    ready_after = time.monotonic() - began
    status, body = dp.readiness()
    assert status == 200 and body["snapshot_source"] == "disk", body
    assert body["control_plane"] == "disconnected", body
    t.lb.wait_states({"dp2": "UP"})
    with Load(t.base_url, key, clients=4) as load:
        load.wait_requests(200)
    served_by_restarted = sum(1 for o in load.ok if o.served_by == "dp2")
    figures.record(
        requests=len(load.outcomes),
        failed=len(load.failed),
        restart_to_ready_seconds=round(ready_after, 2),
        served_by_restarted_node=served_by_restarted,
    )
    assert load.failed == [], load.failed[:3]
    assert served_by_restarted > 0, "the restarted data plane took its share through the LB"
