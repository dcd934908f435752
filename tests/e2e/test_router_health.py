"""Background health checks (general_settings.background_health_checks) feed the router:
a deployment failing its probe is avoided before any client request fails on it, and
comes back once a probe passes."""

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


def test_without_background_checks_nothing_is_probed(cluster, faults):
    mock = faults
    dp = start(cluster, [deployment("pool", "openai/gpt-4o-mini", mock, "only")], {})
    mock.clear()
    assert chat(dp, "pool").status_code == 200
    assert probes(mock, "gpt-4o-mini") == 0
