"""GET /v1/models and /models list exactly the configured model names."""

from __future__ import annotations

import pytest

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


def test_models_retrieve_one_model_as_openai_does(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    # the SDK's retrieve, and the same object as in the list
    got = dp.openai_client().models.retrieve("gpt-4o-mini")
    assert (got.id, got.object, got.owned_by) == ("gpt-4o-mini", "model", "openai")
    with dp.http() as http:
        listed = {m["id"]: m for m in http.get("/v1/models", headers=dp.auth_headers()).json()["data"]}
        for path in ("/v1/models/local-mock", "/models/local-mock"):
            r = http.get(path, headers=dp.auth_headers())
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
            assert r.json() == listed["local-mock"], path
        r = http.get("/v1/models/no-such-model", headers=dp.auth_headers())
        missing = http.get("/v1/models/gpt-4o-mini")
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert (err["type"], err["param"], err["code"]) == ("invalid_request_error", "model", "404"), err
    assert "no-such-model" in err["message"] and "/v1/models" in err["message"], err
    # a key is needed, as for the list
    assert missing.status_code == 401, missing.text
    assert mock_provider.requests() == []


def test_model_group_info_lists_each_group_once_in_config_order(cluster, mock_provider):
    """LiteLLM's `/model_group/info`: one entry per group, its providers, limits and prices."""
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as http:
        r = http.get("/model_group/info", headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert [g["model_group"] for g in data] == model_names(c.config)
        [gpt] = [g for g in data if g["model_group"] == "gpt-4o-mini"]
        assert gpt["providers"] == ["openai"]
        assert gpt["input_cost_per_token"] == pytest.approx(1.5e-07)
        assert gpt["output_cost_per_token"] == pytest.approx(6e-07)
        assert gpt["max_input_tokens"] == 128000
        assert gpt["tpm"] is None and gpt["rpm"] is None
        one = http.get("/v1/model_group/info", params={"model_group": "local-mock"}, headers=dp.auth_headers())
        assert [g["model_group"] for g in one.json()["data"]] == ["local-mock"]
        # a key sees only its own groups
        key = http.post("/key/generate", json={"models": ["gpt-4o-mini"]}, headers=dp.auth_headers()).json()["key"]
        mine = http.get("/model_group/info", headers={"Authorization": f"Bearer {key}"})
        assert [g["model_group"] for g in mine.json()["data"]] == ["gpt-4o-mini"]
        assert http.get("/model_group/info").status_code == 401
    assert mock_provider.requests() == []
