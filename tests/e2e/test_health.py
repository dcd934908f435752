"""GET /health: a real call per deployment, LiteLLM's shape, no secrets."""

from __future__ import annotations

from expect import assert_no_secrets, assert_openai_error


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
