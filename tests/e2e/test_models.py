"""GET /v1/models and /models list exactly the configured model names."""

from __future__ import annotations

from components import model_names


def test_models_lists_exactly_the_configured_names(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    expected = sorted(model_names(c.config))
    assert len(expected) == len(set(expected))

    for path in ("/v1/models", "/models"):
        with dp.http() as http:
            r = http.get(path, headers=dp.auth_headers())
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert set(body) >= {"object", "data"}
        assert body["object"] == "list", path
        ids = [m["id"] for m in body["data"]]
        assert sorted(ids) == expected, f"{path}: {ids}"
        for m in body["data"]:
            assert m["object"] == "model", m
            assert isinstance(m["created"], int) and not isinstance(m["created"], bool), m
            assert isinstance(m["owned_by"], str) and m["owned_by"], m

    # and through the SDK
    listed = sorted(m.id for m in dp.openai_client().models.list())
    assert listed == expected

    # listing models is answered by the gateway, not the provider
    assert mock_provider.requests() == []
