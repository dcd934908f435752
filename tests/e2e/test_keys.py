"""Virtual keys: LiteLLM's /key/* routes on every data plane, enforced by every data plane."""

from __future__ import annotations

from typing import Any

import httpx

from expect import assert_applied, assert_no_secrets, assert_openai_error
from harness import holds_for, wait_until

CHAT = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}
UPSTREAM = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(dp, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    with dp.http() as c:
        return c.post("/v1/chat/completions", json=body or CHAT, headers=bearer(key))


def admin(dp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with dp.http() as c:
        return c.request(method, path, headers=dp.auth_headers(), **kwargs)


def expect_status(dp, key: str, status: int, after: str) -> httpx.Response:
    """The very next chat with ``key`` on ``dp`` answers ``status``: a key write is in force on
    every data plane when it returns, so nothing is waited for."""
    r = chat(dp, key)
    assert r.status_code == status, f"{dp.name}, right after {after}: {r.status_code} (want {status}) {r.text}"
    return r


def test_key_lifecycle_on_two_data_planes(cluster, mock_provider):
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps

    created = admin(dp1, "POST", "/key/generate", json={"models": ["local-mock"], "key_alias": "ci-bot", "metadata": {"team": "ml"}})
    assert_applied(created, 2)
    body = created.json()
    key = body["key"]
    assert key.startswith("sk-") and body["key_alias"] == "ci-bot" and body["models"] == ["local-mock"]
    assert body["token"] == body["token_id"] and len(body["token"]) == 64 and key not in body["token"]

    # Created on dp1, usable on dp2 by the very next request (LiteLLM: up to 60 s later).
    expect_status(dp2, key, 200, "/key/generate on dp1")
    reply = dp2.openai_client(api_key=key).chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == "Hello from Tollgate"

    # Model allow-list: 403 before anything reaches the provider.
    mock_provider.clear()
    denied = chat(dp1, key, UPSTREAM)
    err = assert_openai_error(denied, 403, type="key_model_access_denied")
    assert "gpt-4o-mini" in err["message"] and err["param"] == "model"
    assert mock_provider.chat_requests() == []
    with dp2.http() as h:
        models = h.get("/v1/models", headers=bearer(key)).json()
    assert [m["id"] for m in models["data"]] == ["local-mock"]

    # /key/info: own key allowed, master allowed, another key forbidden.
    with dp1.http() as h:
        own = h.get("/key/info", params={"key": key}, headers=bearer(key))
        assert own.status_code == 200, own.text
        assert own.json()["key"] == key and own.json()["info"]["key_alias"] == "ci-bot"
        assert own.json()["info"]["metadata"] == {"team": "ml"}
        assert "token" not in own.json()["info"]
        other = admin(dp1, "POST", "/key/generate", json={}).json()["key"]
        forbidden = h.get("/key/info", params={"key": other}, headers=bearer(key))
        assert_openai_error(forbidden, 403)
        # A virtual key may not manage keys.
        assert_openai_error(h.post("/key/generate", json={}, headers=bearer(key)), 403)
        assert_openai_error(h.post("/key/delete", json={"keys": [other]}, headers=bearer(key)), 403)

    # Update widens the allow-list on every data plane.
    updated = admin(dp2, "POST", "/key/update", json={"key": key, "models": []})
    assert_applied(updated, 2)
    assert updated.json()["models"] == [] and updated.json()["key_alias"] == "ci-bot"
    widened = chat(dp1, key, UPSTREAM)
    assert widened.status_code == 200, f"dp1 right after /key/update on dp2: {widened.status_code} {widened.text}"

    # Block and unblock.
    block = admin(dp1, "POST", "/key/block", json={"key": key})
    assert_applied(block, 2)
    assert block.json()["blocked"] is True
    for dp in (dp2, dp1):
        blocked = expect_status(dp, key, 401, "/key/block on dp1")
        assert "blocked" in assert_openai_error(blocked, 401)["message"]
    unblock = admin(dp2, "POST", "/key/unblock", json={"key": key})
    assert_applied(unblock, 2)
    assert unblock.json()["blocked"] is False
    expect_status(dp1, key, 200, "/key/unblock on dp2")

    # Delete: revoked everywhere, and /key/info says so.
    listed = admin(dp1, "GET", "/key/list").json()
    assert listed["total_count"] == 2 and body["token"] in listed["keys"]
    deleted = admin(dp2, "POST", "/key/delete", json={"keys": [key]})
    assert_applied(deleted, 2)
    assert deleted.json() == {"deleted_keys": [key]}
    for dp in (dp1, dp2):
        refused = expect_status(dp, key, 401, "/key/delete on dp2")
        err = assert_openai_error(refused, 401, type="token_not_found_in_db")
        assert_no_secrets(err["message"], key, c.master_key)
    info = admin(dp1, "GET", "/key/info", params={"key": key}).json()
    assert info["info"]["status"] == "deleted"
    assert admin(dp1, "GET", "/key/list").json()["total_count"] == 1
    # The alias is free again.
    assert admin(dp1, "POST", "/key/generate", json={"key_alias": "ci-bot"}).status_code == 200


def test_bad_input_is_a_400_and_nothing_is_written(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    assert admin(dp, "POST", "/key/generate", json={"key_alias": "taken"}).status_code == 200
    cases = [
        ({"max_budget": -1}, "max_budget"),
        ({"duration": "forever"}, "duration"),
        ({"budget_duration": "1 week"}, "budget_duration"),
        ({"budget_duration": "100000000000000000s"}, "budget_duration"),
        ({"key_alias": "taken"}, "taken"),
        ({"models": "local-mock"}, "models"),
        ({"rpm_limit": "ten"}, "rpm_limit"),
        ({"rpm_limit": -5}, "rpm_limit"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"model_rpm_limit": {"local-mock": "x"}}, "model_rpm_limit"),
        ({"key": "not-an-sk-key"}, "sk-"),
    ]
    for body, mentioned in cases:
        r = admin(dp, "POST", "/key/generate", json=body)
        err = assert_openai_error(r, 400)
        assert mentioned in err["message"], (body, err)
    with dp.http() as h:
        bad_json = h.post("/key/generate", content=b"{nope", headers={**dp.auth_headers(), "content-type": "application/json"})
    assert_openai_error(bad_json, 400)
    assert admin(dp, "GET", "/key/list").json()["total_count"] == 1
    # Unknown key references are 404s in the same shape.
    assert_openai_error(admin(dp, "POST", "/key/update", json={"key": "sk-nope-nope", "max_budget": 1}), 404)
    assert_openai_error(admin(dp, "POST", "/key/delete", json={"keys": ["sk-nope-nope"]}), 404)
    assert_openai_error(admin(dp, "POST", "/key/update", json={"max_budget": 1}), 400)


def test_expired_and_regenerated_keys(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    short = admin(dp, "POST", "/key/generate", json={"duration": "2s"}).json()
    assert short["expires"] is not None
    expect_status(dp, short["key"], 200, "/key/generate")
    # Expiry is the clock, not a write: the one thing here that is waited for.
    wait_until(lambda: chat(dp, short["key"]).status_code == 401 or None, timeout=5.0, interval=0.05, desc="short-lived key expires")
    assert_openai_error(chat(dp, short["key"]), 401, type="expired_key")

    old = admin(dp, "POST", "/key/generate", json={"key_alias": "rotating", "models": ["local-mock"]}).json()
    expect_status(dp, old["key"], 200, "/key/generate")
    fresh = admin(dp, "POST", "/key/regenerate", json={"key": old["key"]})
    assert_applied(fresh, 1)
    new = fresh.json()
    assert new["key"] != old["key"] and new["key_alias"] == "rotating" and new["models"] == ["local-mock"]
    expect_status(dp, new["key"], 200, "/key/regenerate")
    expect_status(dp, old["key"], 401, "/key/regenerate")
    # Path form of the route.
    again = admin(dp, "POST", f"/key/{new['key']}/regenerate", json={})
    assert_applied(again, 1)
    assert again.json()["key"] != new["key"]
    expect_status(dp, again.json()["key"], 200, "/key/{key}/regenerate")
    expect_status(dp, new["key"], 401, "/key/{key}/regenerate")


def test_keys_survive_a_data_plane_restart_without_the_control_plane(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    key = admin(dp, "POST", "/key/generate", json={}).json()["key"]
    expect_status(dp, key, 200, "/key/generate")
    c.cp.kill()
    dp.restart()
    assert chat(dp, key).status_code == 200
    assert_openai_error(chat(dp, "sk-never-issued-key"), 401, type="token_not_found_in_db")
    # Management needs the control plane: a clear 503, inference unaffected.
    assert_openai_error(admin(dp, "POST", "/key/generate", json={}), 503)
    holds_for(lambda: chat(dp, key).status_code == 200, duration=0.5, desc="inference keeps working")
