"""PostgreSQL restarted under load: the data planes keep serving, ingest resumes, 0 lost."""

from __future__ import annotations

from topology import Load


def test_postgres_restart_under_load(topology, postgres, figures):
    t = topology()
    key, _ = t.generate_key()
    with Load(t.base_url, key, clients=6) as load:
        load.wait_requests(150)
        downtime = postgres.restart()
        load.wait_requests(300)
    failed = load.failed
    ids = load.ok_ids()
    rows = t.wait_logged(ids, timeout=30)
    lost = ids - rows.keys()
    logs, logged_spend, running_spend = t.key_spend(key)
    figures.record(
        requests=len(load.outcomes),
        ok=len(load.ok),
        failed=len(failed),
        postgres_down_seconds=round(downtime, 2),
        usage_rows=logs,
        usage_lost=len(lost),
    )
    assert failed == [], f"{len(failed)} requests failed while PostgreSQL restarted: {failed[:3]}"
    assert lost == set(), f"{len(lost)} successful requests have no usage row"
    # by SQL against the client's own count: 0 lost, 0 doubled
    assert logs == len(load.ok)
    assert running_spend == logged_spend, "the key's spend total counts each request once"
