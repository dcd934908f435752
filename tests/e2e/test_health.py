"""GET /health: a real call per deployment, LiteLLM's shape, no secrets; liveliness and readiness in LiteLLM's bodies."""

from __future__ import annotations

from expect import assert_no_secrets, assert_openai_error
from harness import wait_until


def test_health_probes_every_deployment(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    key = "os.environ/MOCK_PROVIDER_KEY"
    c.write_config(
        {
            "model_list": [
                {"model_name": "good", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": mock_provider.api_base, "api_key": key}},
                {"model_name": "bad", "litellm_params": {"model": "openai/mock-500", "api_base": mock_provider.api_base, "api_key": key}},
                {
                    "model_name": "vectors",
                    "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": mock_provider.api_base, "api_key": key},
                    "model_info": {"mode": "embedding"},
                },
                {"model_name": "local", "litellm_params": {"model": "openai/x", "mock_response": "hi"}},
            ],
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    mock_provider.clear()
    with dp.http(timeout=60) as h:
        r = h.get("/health", headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        body = r.json()
        assert_openai_error(h.get("/health"), 401)
    assert (body["healthy_count"], body["unhealthy_count"]) == (3, 1)
    assert sorted(e["model_name"] for e in body["healthy_endpoints"]) == ["good", "local", "vectors"]
    bad = body["unhealthy_endpoints"][0]
    assert bad["model_name"] == "bad" and bad["model"] == "openai/mock-500" and bad["api_base"] == mock_provider.api_base
    assert "server had an error" in bad["error"]
    assert_no_secrets(r.text, c.provider_key, c.master_key)
    # Real calls: a minimal chat per chat deployment, an embedding for the embedding one.
    paths = sorted(req["path"] for req in mock_provider.requests())
    assert paths == ["/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings"]
    assert all(req["body"].get("max_tokens") == 1 for req in mock_provider.chat_requests())


LITELLM_READINESS_FIELDS = (
    "status", "db", "cache", "litellm_version", "success_callbacks",
    "use_aiohttp_transport", "log_level", "is_detailed_debug",
)  # fmt: skip


def test_liveliness_and_readiness_answer_in_litellm_shapes(cluster):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as h:
        # LiteLLM's liveliness body is the JSON string, on both spellings, with or without a slash.
        for path in ("/health/liveliness", "/health/liveness", "/health/liveliness/", "/health/liveness/"):
            r = h.get(path)
            assert r.status_code == 200 and r.json() == "I'm alive!", (path, r.status_code, r.text)
        for path in ("/health/readiness", "/health/readiness/"):
            r = h.get(path)  # unauthenticated, as LiteLLM serves it
            assert r.status_code == 200, (path, r.text)
            body = r.json()
            assert set(LITELLM_READINESS_FIELDS) <= set(body), body
            assert body["status"] == "healthy" and body["db"] == "connected", body
            assert body["cache"] is None and body["success_callbacks"] == [], body
            assert isinstance(body["litellm_version"], str) and body["litellm_version"].count(".") == 2, body
            assert body["use_aiohttp_transport"] is False, body
            assert body["log_level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), body
            assert body["is_detailed_debug"] is (body["log_level"] == "DEBUG"), body
            # Tollgate's own fields beside LiteLLM's.
            assert body["control_plane"] == "connected" and body["snapshot_source"] == "control_plane", body
            assert body["node_id"] == dp.node_id and body["snapshot_version"] >= 1, body
        # LiteLLM's methods: GET, and OPTIONS answering what is allowed.
        for path in ("/health/readiness", "/health/liveliness", "/health/liveness"):
            r = h.options(path)
            assert r.status_code == 200 and r.headers["allow"] == "GET, OPTIONS", (path, r.headers)
            assert r.headers["access-control-allow-methods"] == "GET, OPTIONS", r.headers
        assert_openai_error(h.post("/health/readiness"), 405)


def test_readiness_reports_the_control_plane_as_litellm_reports_its_db(cluster):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    c.cp.kill()
    # The data plane notices the lost stream asynchronously.
    body = wait_until(
        lambda: (lambda s, b: b if s == 200 and b.get("db") == "disconnected" else None)(*dp.readiness()),
        timeout=15.0,
        desc="readiness to report db=disconnected",
    )
    # Still serving from its snapshot: healthy, with the control plane away.
    assert body["status"] == "healthy" and body["control_plane"] == "disconnected", body


def test_a_data_plane_without_a_snapshot_is_unhealthy_with_litellm_503(cluster):
    c = cluster(data_planes=0)
    lonely = c.add_data_plane(wait_ready=False, cluster_token=c.cluster_token[:-4] + "nope")
    status, body = lonely.readiness()
    assert status == 503, body
    assert body["status"] == "unhealthy" and body["db"] == "disconnected", body
    assert body["detail"].startswith("Service Unhealthy (") and "--cluster-token" in body["detail"], body
    assert "snapshot_version" not in body, body
    with lonely.http() as h:
        assert h.get("/health/liveliness").json() == "I'm alive!"
