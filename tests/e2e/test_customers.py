"""End users (customers): LiteLLM's /customer/* routes, and a blocked customer refused on every data
plane whether named by the request's `user` field or `x-litellm-end-user-id`."""

from __future__ import annotations

from typing import Any

import httpx

from expect import assert_applied, assert_openai_error

UPSTREAM = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def call(dp, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    with dp.http() as c:
        return c.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def admin(dp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return call(dp, method, path, dp.master_key, **kwargs)


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def chat_as(dp, key: str, end_user: str, *, header: bool = False) -> httpx.Response:
    if header:
        with dp.http() as c:
            return c.post(
                "/v1/chat/completions",
                json=UPSTREAM,
                headers={"Authorization": f"Bearer {key}", "x-litellm-end-user-id": end_user},
            )
    return call(dp, "POST", "/v1/chat/completions", key, json={**UPSTREAM, "user": end_user})


def expect_chat_as(dp, key: str, end_user: str, status: int, after: str, *, header: bool = False) -> httpx.Response:
    """The very next chat on ``dp`` answers ``status``: a management write is in force on every
    data plane when it returns, so nothing is waited for."""
    r = chat_as(dp, key, end_user, header=header)
    assert r.status_code == status, f"{dp.name}, right after {after}: {r.status_code} (want {status}) {r.text}"
    return r


def test_customer_lifecycle_and_block_on_two_data_planes(cluster, mock_provider):
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    key = ok(admin(dp1, "POST", "/key/generate", json={}))["key"]

    created = ok(
        admin(
            dp1,
            "POST",
            "/customer/new",
            json={
                "user_id": "acme",
                "alias": "Acme Corp",
                "max_budget": 20,
                "budget_duration": "1d",
                "rpm_limit": 60,
                "allowed_model_region": "eu",
                "default_model": "gpt-4o-mini",
            },
        )
    )
    assert created["user_id"] == "acme" and created["alias"] == "Acme Corp" and created["blocked"] is False
    assert created["spend"] == 0.0 and created["allowed_model_region"] == "eu"
    budget = created["litellm_budget_table"]
    assert budget["max_budget"] == 20 and budget["rpm_limit"] == 60 and budget["budget_duration"] == "1d"
    assert budget["budget_reset_at"] is not None

    expect_chat_as(dp2, key, "acme", 200, "/customer/new on dp1")

    # Block: refused on every data plane, by body field and by header, provider never called.
    block = admin(dp2, "POST", "/customer/block", json={"user_ids": ["acme"]})
    assert_applied(block, 2)
    blocked = block.json()
    assert [u["user_id"] for u in blocked["blocked_users"]] == ["acme"] and blocked["blocked_users"][0]["blocked"] is True
    mock_provider.clear()
    for dp in (dp1, dp2):
        for header in (False, True):
            err = assert_openai_error(chat_as(dp, key, "acme", header=header), 400, type="invalid_request_error")
            assert err["message"] == "User blocked from making LLM API Calls. User=acme"
    # Embeddings and legacy completions too, by body field and by header (as chat).
    routes = [("/v1/embeddings", {"model": "gpt-4o-mini", "input": "x"}), ("/v1/completions", {"model": "gpt-4o-mini", "prompt": "x"})]
    with dp1.http() as h:
        for path, body in routes:
            for by_header in (False, True):
                sent = body if by_header else {**body, "user": "acme"}
                headers = {"Authorization": f"Bearer {key}"} | ({"x-litellm-end-user-id": "acme"} if by_header else {})
                err = assert_openai_error(h.post(path, json=sent, headers=headers), 400, type="invalid_request_error")
                assert err["message"] == "User blocked from making LLM API Calls. User=acme", (path, by_header, err)
    assert mock_provider.requests() == [], "a blocked customer never reaches the provider"
    # Other end users are unaffected.
    assert chat_as(dp1, key, "someone-else").status_code == 200
    assert ok(admin(dp1, "GET", "/customer/info", params={"end_user_id": "acme"}))["blocked"] is True

    unblock = admin(dp1, "POST", "/customer/unblock", json={"user_ids": ["acme"]})
    assert_applied(unblock, 2)
    assert unblock.json()["unblocked_users"][0]["blocked"] is False
    expect_chat_as(dp2, key, "acme", 200, "/customer/unblock on dp1", header=True)

    # /customer/update (and its `blocked` field), the legacy /end_user/* spelling, list, delete.
    update = admin(dp1, "POST", "/customer/update", json={"user_id": "acme", "blocked": True, "alias": "ACME"})
    assert_applied(update, 2)
    updated = update.json()
    assert updated["blocked"] is True and updated["alias"] == "ACME" and updated["allowed_model_region"] == "eu"
    for dp in (dp2, dp1):
        expect_chat_as(dp, key, "acme", 400, "/customer/update on dp1")
    ok(admin(dp1, "POST", "/end_user/new", json={"user_id": "globex"}))
    # Usage ingest may record end users it sees ("someone-else"), as LiteLLM does.
    listed = {x["user_id"]: x for x in ok(admin(dp2, "GET", "/customer/list"))}
    assert {"acme", "globex"} <= set(listed)
    assert listed["globex"]["litellm_budget_table"] is None and listed["acme"]["alias"] == "ACME"
    delete = admin(dp2, "POST", "/customer/delete", json={"user_ids": ["acme"]})
    assert_applied(delete, 2)
    assert delete.json()["deleted_customers"] == 1
    assert_openai_error(admin(dp1, "GET", "/customer/info", params={"end_user_id": "acme"}), 404)
    # A deleted customer is no longer blocked: unknown end users are served (and, once their
    # usage is ingested, recorded again as LiteLLM does — so the 404 is checked first).
    expect_chat_as(dp1, key, "acme", 200, "/customer/delete on dp2")


def test_bad_customer_input_is_a_400_and_nothing_is_written(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    ok(admin(dp, "POST", "/customer/new", json={"user_id": "taken"}))
    cases = [
        ({"user_id": "taken"}, "already exists"),
        ({}, "user_id"),
        ({"user_id": "c", "max_budget": -1}, "max_budget"),
        ({"user_id": "c", "budget_duration": "someday"}, "budget_duration"),
        ({"user_id": "c", "allowed_model_region": "mars"}, "allowed_model_region"),
        ({"user_id": "c", "blocked": "no"}, "blocked"),
        ({"user_id": "c", "rpm_limit": -1}, "rpm_limit"),
        ({"user_id": "c", "tpm_limit": "many"}, "tpm_limit"),
        ({"user_id": "c", "budget_id": "b1", "max_budget": 1}, "budget_id"),
        ({"user_id": 7}, "user_id"),
    ]
    for body, mentioned in cases:
        err = assert_openai_error(admin(dp, "POST", "/customer/new", json=body), 400)
        assert mentioned in err["message"], (body, err)
    assert [x["user_id"] for x in ok(admin(dp, "GET", "/customer/list"))] == ["taken"]

    assert_openai_error(admin(dp, "POST", "/customer/update", json={"user_id": "taken", "max_budget": -2}), 400)
    assert_openai_error(admin(dp, "POST", "/customer/update", json={"user_id": "ghost"}), 404)
    assert_openai_error(admin(dp, "POST", "/customer/block", json={"user_ids": ["taken", "ghost"]}), 404)
    assert_openai_error(admin(dp, "POST", "/customer/block", json={}), 400)
    assert_openai_error(admin(dp, "POST", "/customer/delete", json={"user_ids": ["ghost"]}), 404)
    assert_openai_error(admin(dp, "GET", "/customer/info"), 400)
    still = ok(admin(dp, "GET", "/customer/info", params={"end_user_id": "taken"}))
    assert still["blocked"] is False and still["litellm_budget_table"] is None, "refused calls changed nothing"

    # Customers are managed by admins only.
    key = ok(admin(dp, "POST", "/key/generate", json={}))["key"]
    assert call(dp, "GET", "/v1/models", key).status_code == 200, "the key is unknown right after /key/generate"
    assert_openai_error(call(dp, "POST", "/customer/new", key, json={"user_id": "x"}), 403, type="permission_error")
    assert_openai_error(call(dp, "POST", "/customer/block", key, json={"user_ids": ["taken"]}), 403)
    assert_openai_error(call(dp, "GET", "/customer/list", key), 403)
