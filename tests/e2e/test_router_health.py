"""Background health checks (general_settings.background_health_checks) feed the router:
a deployment failing its probe is avoided before any client request fails on it, and
comes back once a probe passes. The dashboard's "check now" is such a probe, on the data plane
that runs it."""

from __future__ import annotations

from harness import wait_until
from routing import add_fault, chat, client_requests, clear_faults, deployment, faults, start

__all__ = ["faults"]  # the fixture, imported for pytest


def probes(mock, model: str) -> int:
    return sum(
        1 for r in mock.chat_requests() if r["body"]["model"] == model and r["body"]["messages"][-1]["content"] == "ping"
    )


def test_a_deployment_failing_its_health_check_is_avoided_then_readmitted(cluster, faults):
    mock = faults
    # Sick from the start, for every request (probe or client) until cleared.
    add_fault(mock, "gpt-4o-sick", 503, times=100_000)
    dp = start(
        cluster,
        [deployment("pool", "openai/gpt-4o-sick", mock, "sick"), deployment("pool", "openai/gpt-4o-mini", mock, "well")],
        {"num_retries": 2},
        {"background_health_checks": True, "health_check_interval": 1},
    )
    mock.clear()
    # Two probes seen after the log was cleared: the first one's verdict is in.
    wait_until(lambda: probes(mock, "gpt-4o-sick") >= 2, timeout=20, desc="two health probes of the sick deployment")
    for _ in range(20):
        r = chat(dp, "pool")
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-id"] == "well"
        assert r.headers["x-litellm-attempted-retries"] == "0"
    assert client_requests(mock, "gpt-4o-sick") == [], "no client request was sent to the unhealthy deployment"

    # Healthy again: the next passing probe readmits it.
    clear_faults(mock)
    wait_until(
        lambda: chat(dp, "pool").headers["x-litellm-model-id"] == "sick",
        timeout=30,
        interval=0.2,
        desc="the recovered deployment serving again",
    )


def check_now(dp, deployment_id: str) -> dict:
    """The dashboard's "check now", as its page calls it: a session on this data plane's /ui."""
    with dp.http(timeout=40) as h:
        login = h.post("/ui/api/login", json={"username": "admin", "password": dp.master_key})
        assert login.status_code == 200, login.text
        r = h.post(f"/ui/api/models/{deployment_id}/check", headers={"x-tollgate-csrf": login.json()["csrf_token"]})
        assert r.status_code == 200, r.text
        return r.json()


def test_check_now_feeds_the_router_when_background_checks_are_on(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [deployment("pool", "openai/gpt-4o-sick", mock, "sick"), deployment("pool", "openai/gpt-4o-mini", mock, "well")],
        {"num_retries": 2},
        # The background probe runs once at start, then not for an hour: what changes after
        # that is "check now"'s doing.
        {"background_health_checks": True, "health_check_interval": 3600},
    )
    wait_until(lambda: probes(mock, "gpt-4o-sick") >= 1, timeout=20, desc="the start-up health probe")
    assert check_now(dp, "sick")["marked_unhealthy"] is False

    add_fault(mock, "gpt-4o-sick", 503, times=100_000)
    found = check_now(dp, "sick")
    assert found["healthy"] is False and found["feeds_routing"] is True
    assert found["marked_unhealthy"] is True, found
    mock.clear()
    # The answer came back: the router acts on it from the next request, no waiting.
    for _ in range(20):
        r = chat(dp, "pool")
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-id"] == "well"
        assert r.headers["x-litellm-attempted-retries"] == "0"
    assert client_requests(mock, "gpt-4o-sick") == [], "a client request went to the deployment check-now failed"

    clear_faults(mock)
    found = check_now(dp, "sick")
    assert found["healthy"] is True and found["marked_unhealthy"] is False, found
    served = {chat(dp, "pool").headers["x-litellm-model-id"] for _ in range(30)}
    assert served == {"sick", "well"}, "the deployment that passed check-now is back in rotation"


def test_check_now_only_reports_without_background_checks(cluster, faults):
    mock = faults
    dp = start(cluster, [deployment("pool", "openai/gpt-4o-sick", mock, "sick")], {"num_retries": 0})
    add_fault(mock, "gpt-4o-sick", 503, times=1)
    found = check_now(dp, "sick")
    assert found["healthy"] is False and found["feeds_routing"] is False
    assert found["marked_unhealthy"] is False, "without background checks the router never consults probes"
    assert chat(dp, "pool").status_code == 200, "the deployment stays in rotation"


def test_without_background_checks_nothing_is_probed(cluster, faults):
    mock = faults
    dp = start(cluster, [deployment("pool", "openai/gpt-4o-mini", mock, "only")], {})
    mock.clear()
    assert chat(dp, "pool").status_code == 200
    assert probes(mock, "gpt-4o-mini") == 0
