"""Routing strategies: simple-shuffle weights, least-busy, latency-based (and its recovery), order."""

from __future__ import annotations

import collections
import concurrent.futures
import time
from typing import Any

from harness import http_client

MSG = [{"role": "user", "content": "pick one"}]


def dep(mock, dep_id: str, model: str, **params: Any) -> dict[str, Any]:
    return {
        "model_name": "pool",
        "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY", **params},
        "model_info": {"id": dep_id},
    }


def start(cluster, mock, deployments: list[dict[str, Any]], router_settings: dict[str, Any]):
    c = cluster(data_planes=1, start=False)
    c.write_config({"model_list": deployments, "router_settings": router_settings, "general_settings": {"master_key": c.master_key}})
    c.cp.start()
    return c.add_data_plane()


def served_by(dp, n: int, workers: int = 1) -> collections.Counter[str]:
    def one(_: int) -> str:
        with dp.http(timeout=30) as h:
            r = h.post("/v1/chat/completions", json={"model": "pool", "messages": MSG}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        return r.headers["x-litellm-model-id"]

    if workers == 1:
        with dp.http(timeout=30) as h:
            ids = []
            for _ in range(n):
                r = h.post("/v1/chat/completions", json={"model": "pool", "messages": MSG}, headers=dp.auth_headers())
                assert r.status_code == 200, r.text
                ids.append(r.headers["x-litellm-model-id"])
        return collections.Counter(ids)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return collections.Counter(pool.map(one, range(n)))


def test_simple_shuffle_follows_weights(cluster, mock_provider):
    dp = start(cluster, mock_provider, [dep(mock_provider, "heavy", "openai/a", weight=3), dep(mock_provider, "light", "openai/b", weight=1)], {})
    counts = served_by(dp, 1000)
    # 750 expected; ±60 is more than 4 standard deviations (13.7).
    assert 690 <= counts["heavy"] <= 810, counts
    assert counts["heavy"] + counts["light"] == 1000


def test_rpm_is_the_weight_when_no_weight_is_given(cluster, mock_provider):
    dp = start(cluster, mock_provider, [dep(mock_provider, "big", "openai/a", rpm=900), dep(mock_provider, "small", "openai/b", rpm=100)], {})
    counts = served_by(dp, 500)
    # 450 expected, σ = 6.7.
    assert 420 <= counts["big"] <= 480, counts


def test_least_busy_avoids_a_slow_deployment(cluster, mock_provider):
    dp = start(
        cluster,
        mock_provider,
        [dep(mock_provider, "slow", "openai/mock-slow-1000"), dep(mock_provider, "fast", "openai/gpt-4o-mini")],
        {"routing_strategy": "least-busy"},
    )
    counts = served_by(dp, 96, workers=16)
    # Shuffle would send ~48 to the slow one; least-busy only what arrives
    # while it is no busier than the fast one.
    assert counts["slow"] <= 20, counts


def test_latency_based_picks_the_fast_one_and_recovers(cluster, mock_provider):
    dp = start(
        cluster,
        mock_provider,
        [dep(mock_provider, "slow", "openai/mock-slow-150"), dep(mock_provider, "fast", "openai/gpt-4o-mini")],
        {"routing_strategy": "latency-based-routing", "routing_strategy_args": {"ttl": 1}},
    )
    first = served_by(dp, 20)
    # Each unmeasured deployment is tried, then the fast one keeps the traffic.
    assert first["slow"] <= 2 and first["fast"] >= 18, first

    # The fast one slows down (for its next 6 calls): traffic moves over.
    with http_client() as h:
        h.post(f"{mock_provider.url}/__mock/faults", json={"model": "gpt-4o-mini", "status": 200, "times": 6, "delay_ms": 600}).raise_for_status()
    during = served_by(dp, 10)
    assert during["slow"] >= 7, during

    # The provider is fast again; once its slow measure expires (ttl 1 s) it
    # is tried again and wins its traffic back.
    with http_client() as h:
        h.delete(f"{mock_provider.url}/__mock/faults").raise_for_status()
    time.sleep(1.2)
    after = served_by(dp, 20)
    assert after["fast"] >= 18, after


def test_order_prefers_lower_and_falls_to_the_next(cluster, mock_provider):
    dp = start(
        cluster,
        mock_provider,
        [
            dep(mock_provider, "primary", "openai/gpt-4o-mini", order=1),
            dep(mock_provider, "secondary", "openai/gpt-4o", order=2),
        ],
        {"num_retries": 2},
    )
    assert served_by(dp, 20) == {"primary": 20}
