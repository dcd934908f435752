"""The router when deployments fail: retry_policy per error class, allowed_fails,
cooldown entry and exit (Retry-After overriding cooldown_time), and a stream that
breaks after its first chunk."""

from __future__ import annotations

import json

import openai
import pytest

from expect import assert_openai_error
from harness import wait_until
from routing import MSG, add_fault, chat, client_requests, deployment, faults, start, upstream_models

__all__ = ["faults"]  # the fixture, imported for pytest


def test_retry_policy_sets_the_retries_per_error_class(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [deployment("solo", "openai/gpt-4o-mini", mock)],
        {
            "num_retries": 3,
            "retry_policy": {"RateLimitErrorRetries": 0, "InternalServerErrorRetries": 1, "BadRequestErrorRetries": 1},
        },
    )
    mock.clear()
    # RateLimitErrorRetries: 0 — a 429 is returned at once despite num_retries: 3.
    add_fault(mock, "gpt-4o-mini", 429, times=1, retry_after=0)
    r = chat(dp, "solo")
    assert_openai_error(r, 429)
    assert r.headers["x-litellm-attempted-retries"] == "0"
    assert upstream_models(mock) == ["gpt-4o-mini"]

    # InternalServerErrorRetries: 1 — two 500s exhaust it (num_retries: 3 would
    # have reached the third, healthy, attempt).
    mock.clear()
    add_fault(mock, "gpt-4o-mini", 500, times=2)
    r = chat(dp, "solo")
    assert_openai_error(r, 500)
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert len(upstream_models(mock)) == 2

    # BadRequestErrorRetries: 1 — a 400, never retried by default, is retried
    # because the policy asks for it.
    mock.clear()
    add_fault(mock, "gpt-4o-mini", 400, times=1)
    r = chat(dp, "solo")
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert len(upstream_models(mock)) == 2


def test_a_400_is_not_retried_without_a_policy_for_it(cluster, faults):
    mock = faults
    dp = start(cluster, [deployment("solo", "openai/gpt-4o-mini", mock)], {"num_retries": 3})
    mock.clear()
    add_fault(mock, "gpt-4o-mini", 400, times=1)
    r = chat(dp, "solo")
    assert_openai_error(r, 400)
    assert r.headers["x-litellm-attempted-retries"] == "0"
    assert len(upstream_models(mock)) == 1


def test_allowed_fails_cools_down_only_after_more_failures_than_allowed(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("pool", "openai/mock-500", mock, "broken", order=1),
            deployment("pool", "openai/gpt-4o-mini", mock, "healthy", order=2),
        ],
        {"num_retries": 1, "allowed_fails": 2, "cooldown_time": 60},
    )
    mock.clear()
    retries = []
    for _ in range(6):
        r = chat(dp, "pool")
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-id"] == "healthy"
        retries.append(r.headers["x-litellm-attempted-retries"])
    # Two failures are allowed this minute; the third cools the deployment down.
    assert upstream_models(mock).count("mock-500") == 3
    assert retries == ["1", "1", "1", "0", "0", "0"]


def test_cooldown_entry_and_exit_with_retry_after_overriding_cooldown_time(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("pool", "openai/gpt-4o-mini", mock, "primary", order=1),
            deployment("pool", "openai/gpt-4o", mock, "secondary", order=2),
        ],
        {"num_retries": 1, "cooldown_time": 120},
    )
    add_fault(mock, "gpt-4o-mini", 429, times=1, retry_after=3)
    entered = chat(dp, "pool")
    assert entered.status_code == 200, entered.text
    assert entered.headers["x-litellm-model-id"] == "secondary"
    assert entered.headers["x-litellm-attempted-retries"] == "1"
    # Cooling down: the preferred deployment is not even tried.
    cooling = chat(dp, "pool")
    assert cooling.headers["x-litellm-model-id"] == "secondary"
    assert cooling.headers["x-litellm-attempted-retries"] == "0"
    # The provider's Retry-After (3 s), not cooldown_time (120 s), ends it.
    wait_until(
        lambda: chat(dp, "pool").headers["x-litellm-model-id"] == "primary",
        timeout=30,
        interval=0.5,
        desc="the primary back from its cooldown",
    )


def test_cooldown_time_ends_a_cooldown_without_retry_after(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("pool", "openai/gpt-4o-mini", mock, "primary", order=1),
            deployment("pool", "openai/gpt-4o", mock, "secondary", order=2),
        ],
        {"num_retries": 1, "cooldown_time": 3},
    )
    add_fault(mock, "gpt-4o-mini", 503, times=1)
    entered = chat(dp, "pool")
    assert entered.headers["x-litellm-model-id"] == "secondary"
    assert chat(dp, "pool").headers["x-litellm-attempted-retries"] == "0"
    wait_until(
        lambda: chat(dp, "pool").headers["x-litellm-model-id"] == "primary",
        timeout=30,
        interval=0.5,
        desc="the primary back after cooldown_time",
    )


def test_a_stream_that_breaks_after_its_first_chunk_ends_with_an_error_event(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("breaks", "openai/mock-break-after-2", mock),
            deployment("backup", "openai/gpt-4o-mini", mock),
        ],
        {"num_retries": 3, "fallbacks": [{"breaks": ["backup"]}]},
    )
    mock.clear()
    with dp.http(timeout=30) as h:
        with h.stream(
            "POST",
            "/v1/chat/completions",
            json={"model": "breaks", "messages": MSG, "stream": True},
            headers=dp.auth_headers(),
        ) as r:
            assert r.status_code == 200
            # Returns only once the data plane closed the stream: no hang.
            body = r.read().decode()
    events = [line.removeprefix("data: ") for line in body.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in events, body
    frames = [json.loads(e) for e in events]
    assert [("choices" in f) for f in frames] == [True, True, False], body
    error = frames[-1]["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "stream" in error["message"]
    # Not retried, no fallback: the client already had chunks.
    assert upstream_models(mock) == ["mock-break-after-2"]

    client = dp.openai_client()
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="breaks", messages=MSG, stream=True):
            pass
    assert client_requests(mock, "gpt-4o-mini") == []


def test_fallback_chains_go_on_down_the_list_up_to_max_fallbacks(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("primary", "openai/mock-500", mock),
            deployment("backup-1", "openai/mock-429", mock),
            deployment("backup-2", "openai/gpt-4o-mini", mock),
            deployment("small", "openai/mock-context-length", mock),
            deployment("medium", "openai/mock-context-length", mock),
            deployment("large", "openai/gpt-4o", mock),
        ],
        {
            "num_retries": 0,
            "fallbacks": [{"primary": ["backup-1", "backup-2"]}],
            "context_window_fallbacks": [{"small": ["medium", "large"]}],
        },
    )
    mock.clear()
    r = chat(dp, "primary")
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-group"] == "backup-2"
    assert r.headers["x-litellm-attempted-fallbacks"] == "2"
    assert upstream_models(mock) == ["mock-500", "mock-429", "gpt-4o-mini"]

    mock.clear()
    r = chat(dp, "small")
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-group"] == "large"
    assert upstream_models(mock) == ["mock-context-length", "mock-context-length", "gpt-4o"]


def test_max_fallbacks_ends_the_chain(cluster, faults):
    mock = faults
    dp = start(
        cluster,
        [
            deployment("primary", "openai/mock-500", mock),
            deployment("backup-1", "openai/mock-429", mock),
            deployment("backup-2", "openai/gpt-4o-mini", mock),
        ],
        {"num_retries": 0, "max_fallbacks": 1, "fallbacks": [{"primary": ["backup-1", "backup-2"]}]},
    )
    mock.clear()
    r = chat(dp, "primary")
    assert_openai_error(r, 429)
    assert r.headers["x-litellm-attempted-fallbacks"] == "1"
    assert upstream_models(mock) == ["mock-500", "mock-429"]
