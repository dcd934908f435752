"""usage-based-routing-v2 and deployment rpm/tpm limits (skipped by every strategy;
all of a group over its limits is LiteLLM's 429 naming the deployments)."""

from __future__ import annotations

import collections

from expect import assert_openai_error
from routing import MSG, chat, deployment, early_in_the_minute, post, start, upstream_models


def test_usage_based_routing_picks_the_deployment_with_the_fewest_tokens_this_minute(cluster, mock_provider):
    dp = start(
        cluster,
        [deployment("pool", "openai/gpt-4o-mini", mock_provider, "a"), deployment("pool", "openai/gpt-4o", mock_provider, "b")],
        {"routing_strategy": "usage-based-routing-v2"},
    )
    early_in_the_minute()
    tokens = {"a": 0, "b": 0}
    decided = 0
    for i in range(10):
        # Prompts of different lengths, so the two totals rarely tie.
        r = post(dp, {"model": "pool", "messages": [{"role": "user", "content": "word " * (3 * i + 1)}]})
        assert r.status_code == 200, r.text
        served = r.headers["x-litellm-model-id"]
        if tokens["a"] != tokens["b"]:
            assert served == min(tokens, key=tokens.__getitem__), (i, tokens, served)
            decided += 1
        tokens[served] += r.json()["usage"]["total_tokens"]
    assert decided >= 8, tokens


def test_rpm_caps_a_deployment_under_simple_shuffle(cluster, mock_provider):
    dp = start(
        cluster,
        [
            deployment("pool", "openai/gpt-4o-mini", mock_provider, "capped", rpm=2, weight=100),
            deployment("pool", "openai/gpt-4o", mock_provider, "roomy", weight=1),
        ],
        {},
    )
    early_in_the_minute()
    mock_provider.clear()
    served = collections.Counter(chat(dp, "pool").headers["x-litellm-model-id"] for _ in range(12))
    # Weighted 100:1 it would take nearly all; its rpm of 2 stops it.
    assert served == {"capped": 2, "roomy": 10}, served
    assert upstream_models(mock_provider).count("gpt-4o-mini") == 2


def test_every_deployment_over_its_limits_is_a_429_naming_them(cluster, mock_provider):
    dp = start(
        cluster,
        [
            deployment("tight", "openai/gpt-4o-mini", mock_provider, "by-rpm", rpm=1),
            {
                **deployment("tight", "openai/gpt-4o", mock_provider, "by-tpm"),
                "model_info": {"id": "by-tpm", "tpm": 1},
            },
        ],
        {"routing_strategy": "least-busy"},
    )
    early_in_the_minute()
    mock_provider.clear()
    first, second = chat(dp, "tight"), chat(dp, "tight")
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert {first.headers["x-litellm-model-id"], second.headers["x-litellm-model-id"]} == {"by-rpm", "by-tpm"}
    refused = post(dp, {"model": "tight", "messages": MSG})
    err = assert_openai_error(refused, 429, type="rate_limit_error")
    assert "No deployments available" in err["message"]
    assert "by-rpm" in err["message"] and "by-tpm" in err["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(upstream_models(mock_provider)) == 2, "a group over its limits is not called"
