"""The router: retries across deployments, cooldowns and fallbacks (LiteLLM's router_settings)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness import http_client
from expect import assert_openai_error
from routing import add_fault, faults

__all__ = ["faults"]  # the fixture, imported for pytest

MSG = [{"role": "user", "content": "route me"}]


def deployment(name: str, model: str, mock, dep_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_name": name,
        "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY"},
    }
    if dep_id:
        entry["model_info"] = {"id": dep_id}
    return entry


def start(cluster, mock, models: list[dict[str, Any]], router_settings: dict[str, Any]):
    c = cluster(data_planes=1, start=False)
    c.write_config(
        {
            "model_list": models,
            "router_settings": router_settings,
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    return c, c.add_data_plane()


def post(dp, body: dict[str, Any]) -> httpx.Response:
    with dp.http(timeout=30) as h:
        return h.post("/v1/chat/completions", json=body, headers=dp.auth_headers())


def upstream_models(mock) -> list[str]:
    return [r["body"]["model"] for r in mock.chat_requests()]


def test_retries_move_to_a_healthy_deployment_and_cool_the_failing_one(cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        [deployment("pool", "openai/mock-500", mock_provider, "broken"), deployment("pool", "openai/gpt-4o-mini", mock_provider, "healthy")],
        {"num_retries": 2, "cooldown_time": 30},
    )
    mock_provider.clear()
    for _ in range(12):
        r = post(dp, {"model": "pool", "messages": MSG})
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-id"] == "healthy"
        assert r.json()["choices"][0]["message"]["content"] == "Echo: route me"
    # The broken deployment failed at most once, then was cooling down.
    assert upstream_models(mock_provider).count("mock-500") <= 1
    assert upstream_models(mock_provider).count("gpt-4o-mini") == 12


def test_all_deployments_cooling_down_is_a_429_naming_them(cluster, faults):
    mock_provider = faults
    c, dp = start(
        cluster,
        mock_provider,
        [deployment("hot", "openai/mock-429", mock_provider, "hot-a"), deployment("hot", "openai/mock-429", mock_provider, "hot-b")],
        {"num_retries": 1, "cooldown_time": 1},
    )
    # The provider's Retry-After sets the cooldown (30 s, not cooldown_time).
    add_fault(mock_provider, "mock-429", 429, times=2, retry_after=30)
    first = post(dp, {"model": "hot", "messages": MSG})
    assert_openai_error(first, 429)
    mock_provider.clear()
    second = post(dp, {"model": "hot", "messages": MSG})
    err = assert_openai_error(second, 429, type="rate_limit_error")
    assert "No deployments available" in err["message"] and "hot-a" in err["message"] and "hot-b" in err["message"]
    assert second.headers.get("retry-after")
    assert mock_provider.chat_requests() == [], "a cooled-down group is not called"


def test_fallbacks_by_failure_kind(cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        [
            deployment("primary", "openai/mock-500", mock_provider),
            deployment("backup", "openai/gpt-4o-mini", mock_provider),
            deployment("small", "openai/mock-context-length", mock_provider),
            deployment("large", "openai/gpt-4o", mock_provider),
            deployment("strict", "openai/mock-content-policy", mock_provider),
            deployment("lenient", "openai/gpt-4o-lenient", mock_provider),
            deployment("lonely", "openai/mock-content-policy", mock_provider),
        ],
        {
            "num_retries": 0,
            "fallbacks": [{"primary": ["backup"]}],
            "context_window_fallbacks": [{"small": ["large"]}],
            "content_policy_fallbacks": [{"strict": ["lenient"]}],
        },
    )
    ok = post(dp, {"model": "primary", "messages": MSG})
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-litellm-attempted-fallbacks"] == "1"
    assert ok.headers["x-litellm-model-group"] == "backup"

    mock_provider.clear()
    ok = post(dp, {"model": "small", "messages": MSG})
    assert ok.status_code == 200 and ok.headers["x-litellm-model-group"] == "large"
    assert upstream_models(mock_provider) == ["mock-context-length", "gpt-4o"]

    ok = post(dp, {"model": "strict", "messages": MSG})
    assert ok.status_code == 200 and ok.headers["x-litellm-model-group"] == "lenient"

    # A content-policy refusal with no fallback is not retried: it would
    # fail the same way.
    mock_provider.clear()
    refused = post(dp, {"model": "lonely", "messages": MSG, "num_retries": 3})
    assert_openai_error(refused, 400, code="content_policy_violation")
    assert upstream_models(mock_provider) == ["mock-content-policy"]

    # Per-request fallbacks, and disabling them.
    ok = post(dp, {"model": "lonely", "messages": MSG, "fallbacks": ["lenient"]})
    assert_openai_error(ok, 400)  # content policy uses content_policy_fallbacks only
    ok = post(dp, {"model": "primary", "messages": MSG, "fallbacks": ["large"]})
    assert ok.status_code == 200 and ok.headers["x-litellm-model-group"] == "large"
    off = post(dp, {"model": "primary", "messages": MSG, "disable_fallbacks": True})
    assert_openai_error(off, 500)
    assert off.headers["x-litellm-attempted-fallbacks"] == "0"


def test_mock_testing_fallbacks_and_streams_that_fail_before_the_first_chunk(cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        [
            deployment("primary", "openai/gpt-4o-mini", mock_provider),
            deployment("flaky", "openai/mock-500", mock_provider),
            deployment("backup", "openai/gpt-4o", mock_provider),
        ],
        {"num_retries": 0, "fallbacks": [{"primary": ["backup"]}, {"flaky": ["backup"]}]},
    )
    mock_provider.clear()
    r = post(dp, {"model": "primary", "messages": MSG, "mock_testing_fallbacks": True})
    assert r.status_code == 200 and r.headers["x-litellm-model-group"] == "backup"
    assert upstream_models(mock_provider) == ["gpt-4o"], "the primary is never called"

    client = dp.openai_client()
    stream = client.chat.completions.create(model="flaky", messages=MSG, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo: route me"


def test_retry_after_is_honoured(cluster, mock_provider):
    c, dp = start(cluster, mock_provider, [deployment("solo", "openai/gpt-4o-mini", mock_provider)], {"num_retries": 2})
    with http_client() as h:
        h.post(f"{mock_provider.url}/__mock/faults", json={"model": "gpt-4o-mini", "status": 429, "times": 1, "retry_after": 1}).raise_for_status()
    started = time.monotonic()
    r = post(dp, {"model": "solo", "messages": MSG})
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert elapsed >= 1.0, f"retried after {elapsed:.2f}s, before the provider's retry-after"


def test_wildcards_and_model_group_alias(cluster, mock_provider):
    c, dp = start(
        cluster,
        mock_provider,
        [
            deployment("gpt-4o-mini", "openai/gpt-4o-mini", mock_provider),
            {
                "model_name": "openai/*",
                "litellm_params": {"model": "openai/*", "api_base": mock_provider.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY"},
            },
        ],
        {"model_group_alias": {"cheap": "gpt-4o-mini"}},
    )
    mock_provider.clear()
    r = post(dp, {"model": "openai/o3-mini", "messages": MSG})
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-group"] == "openai/*"
    r = post(dp, {"model": "cheap", "messages": MSG})
    assert r.status_code == 200 and r.headers["x-litellm-model-group"] == "gpt-4o-mini"
    assert upstream_models(mock_provider) == ["o3-mini", "gpt-4o-mini"]
    assert_openai_error(post(dp, {"model": "anthropic/claude", "messages": MSG}), 400)
