"""Internal users: LiteLLM's /user/* routes, user roles on management routes, and a user's model
list enforced on their keys."""

from __future__ import annotations

from typing import Any

import httpx

from expect import assert_applied, assert_openai_error

LOCAL = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}
UPSTREAM = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def call(dp, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    with dp.http() as c:
        return c.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def admin(dp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return call(dp, method, path, dp.master_key, **kwargs)


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def chat(dp, key: str, body: dict[str, Any]) -> httpx.Response:
    return call(dp, "POST", "/v1/chat/completions", key, json=body)


def expect_chat(dp, key: str, body: dict[str, Any], status: int, after: str) -> httpx.Response:
    """The very next chat on ``dp`` answers ``status``: a management write is in force on every
    data plane when it returns, so nothing is waited for."""
    r = chat(dp, key, body)
    assert r.status_code == status, f"{dp.name}, right after {after}: {r.status_code} (want {status}) {r.text}"
    return r


def test_user_lifecycle_and_model_list(cluster, mock_provider):
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    ok(admin(dp1, "POST", "/team/new", json={"team_id": "research"}))

    # /user/new creates a key by default (LiteLLM's auto_create_key) and shows it once.
    created = ok(
        admin(
            dp1,
            "POST",
            "/user/new",
            json={
                "user_id": "ana",
                "user_email": "ana@example.com",
                "user_role": "internal_user",
                "models": ["local-mock"],
                "max_budget": 5,
                "budget_duration": "1mo",
                "teams": ["research"],
                "key_alias": "ana-laptop",
                "metadata": {"desk": 7},
            },
        )
    )
    assert created["user_id"] == "ana" and created["user_email"] == "ana@example.com"
    assert created["user_role"] == "internal_user" and created["teams"] == ["research"]
    assert created["models"] == ["local-mock"] and created["max_budget"] == 5 and created["spend"] == 0.0
    assert created["budget_reset_at"] is not None and created["metadata"] == {"desk": 7}
    key = created["key"]
    assert key.startswith("sk-") and created["key_alias"] == "ana-laptop" and len(created["token"]) == 64

    # The user's model list applies to the user's keys on every data plane.
    expect_chat(dp2, key, LOCAL, 200, "/user/new on dp1")
    mock_provider.clear()
    err = assert_openai_error(chat(dp2, key, UPSTREAM), 403, type="key_model_access_denied")
    assert "local-mock" in err["message"] and "gpt-4o-mini" in err["message"]
    assert err["message"].startswith("user not allowed"), "the message names the user's list"
    assert mock_provider.chat_requests() == []
    assert [m["id"] for m in ok(call(dp1, "GET", "/v1/models", key))["data"]] == ["local-mock"]

    # Without auto_create_key no key is made.
    bare = ok(admin(dp1, "POST", "/user/new", json={"user_id": "ben", "auto_create_key": False}))
    assert "key" not in bare and bare["user_role"] == "internal_user"

    info = ok(admin(dp2, "GET", "/user/info", params={"user_id": "ana"}))
    assert info["user_id"] == "ana" and info["user_info"]["user_email"] == "ana@example.com"
    assert [k["key_alias"] for k in info["keys"]] == ["ana-laptop"]
    assert [t["team_id"] for t in info["teams"]] == ["research"]
    # A key reads its own user without naming it.
    assert ok(call(dp1, "GET", "/user/info", key))["user_id"] == "ana"

    update = admin(dp1, "POST", "/user/update", json={"user_id": "ana", "models": [], "user_alias": "Ana"})
    assert_applied(update, 2)
    updated = update.json()
    assert updated["models"] == [] and updated["user_alias"] == "Ana" and updated["user_email"] == "ana@example.com"
    expect_chat(dp2, key, UPSTREAM, 200, "/user/update on dp1")

    listed = ok(admin(dp1, "GET", "/user/list"))
    assert listed["total"] == 2 and {u["user_id"] for u in listed["users"]} == {"ana", "ben"}
    assert ok(admin(dp1, "GET", "/user/list", params={"page_size": 1}))["total_pages"] == 2

    # Delete: the user's keys and memberships go with them.
    delete = admin(dp2, "POST", "/user/delete", json={"user_ids": ["ana"]})
    assert_applied(delete, 2)
    deleted = delete.json()
    assert deleted["deleted_users"] == ["ana"] and len(deleted["deleted_keys"]) == 1
    for dp in (dp1, dp2):
        assert_openai_error(expect_chat(dp, key, LOCAL, 401, "/user/delete on dp2"), 401, type="token_not_found_in_db")
    assert_openai_error(admin(dp1, "GET", "/user/info", params={"user_id": "ana"}), 404)
    assert ok(admin(dp1, "GET", "/team/info", params={"team_id": "research"}))["team_memberships"] == []


def test_bad_user_input_is_a_400_and_nothing_is_written(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    ok(admin(dp, "POST", "/user/new", json={"user_id": "taken", "auto_create_key": False}))
    cases = [
        ({"user_id": "u", "max_budget": -1}, "max_budget"),
        ({"user_id": "u", "budget_duration": "fortnight"}, "budget_duration"),
        ({"user_id": "u", "user_role": "god"}, "user_role"),
        ({"user_id": "u", "teams": ["no-such-team"]}, "no-such-team"),
        ({"user_id": "u", "models": "local-mock"}, "models"),
        ({"user_id": "u", "rpm_limit": 2.5}, "rpm_limit"),
        ({"user_id": "u", "user_email": 12}, "user_email"),
        ({"user_id": "u", "auto_create_key": "yes"}, "auto_create_key"),
        # The auto-created key's fields are validated too; the user is not kept.
        ({"user_id": "u", "duration": "forever"}, "duration"),
        ({"user_id": "taken"}, "taken"),
    ]
    for body, mentioned in cases:
        err = assert_openai_error(admin(dp, "POST", "/user/new", json=body), 400)
        assert mentioned in err["message"], (body, err)
    listed = ok(admin(dp, "GET", "/user/list"))
    assert [u["user_id"] for u in listed["users"]] == ["taken"]
    assert ok(admin(dp, "GET", "/key/list"))["total_count"] == 0

    assert_openai_error(admin(dp, "POST", "/user/update", json={"user_id": "taken", "user_role": "root"}), 400)
    assert_openai_error(admin(dp, "POST", "/user/update", json={"user_id": "ghost", "max_budget": 1}), 404)
    assert_openai_error(admin(dp, "POST", "/user/update", json={"max_budget": 1}), 400)
    assert_openai_error(admin(dp, "POST", "/user/delete", json={"user_ids": ["taken", "ghost"]}), 404)
    assert_openai_error(admin(dp, "POST", "/user/delete", json={"user_ids": []}), 400)
    assert_openai_error(admin(dp, "GET", "/user/list", params={"page_size": 1000}), 400)
    assert ok(admin(dp, "GET", "/user/info", params={"user_id": "taken"}))["user_info"]["user_role"] == "internal_user"


def test_user_roles_on_management_routes(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]

    def user_key(user_id: str, role: str) -> str:
        return ok(admin(dp, "POST", "/user/new", json={"user_id": user_id, "user_role": role}))["key"]

    boss = user_key("boss", "proxy_admin")
    auditor = user_key("auditor", "proxy_admin_viewer")
    worker = user_key("worker", "internal_user")
    watcher = user_key("watcher", "internal_user_viewer")
    expect_chat(dp, watcher, LOCAL, 200, "/user/new")

    # proxy_admin: everything the master key can.
    assert ok(call(dp, "POST", "/team/new", boss, json={"team_id": "t"}))["team_id"] == "t"
    assert ok(call(dp, "POST", "/user/new", boss, json={"user_id": "hired", "auto_create_key": False}))["user_id"] == "hired"
    assert ok(call(dp, "POST", "/customer/new", boss, json={"user_id": "acme"}))["user_id"] == "acme"

    # proxy_admin_viewer: reads everything, writes nothing.
    assert ok(call(dp, "GET", "/user/list", auditor))["total"] == 5
    assert ok(call(dp, "GET", "/key/list", auditor))["total_count"] == 4
    assert len(ok(call(dp, "GET", "/team/list", auditor))) == 1
    assert ok(call(dp, "GET", "/customer/info", auditor, params={"end_user_id": "acme"}))["user_id"] == "acme"
    for path, body in [("/team/new", {}), ("/user/new", {"user_id": "x"}), ("/key/generate", {}), ("/customer/new", {"user_id": "x"})]:
        assert_openai_error(call(dp, "POST", path, auditor, json=body), 403, type="permission_error")

    # internal_user: creates, lists and reads its own keys only.
    mine = ok(call(dp, "POST", "/key/generate", worker, json={"key_alias": "worker-ci"}))
    assert mine["user_id"] == "worker", "an internal user's keys are its own"
    assert_openai_error(call(dp, "POST", "/key/generate", worker, json={"user_id": "boss"}), 403)
    own_list = ok(call(dp, "GET", "/key/list", worker))
    assert own_list["total_count"] == 2
    assert_openai_error(call(dp, "GET", "/key/list", worker, params={"user_id": "boss"}), 403)
    assert ok(call(dp, "GET", "/key/info", worker, params={"key": mine["key"]}))["info"]["key_alias"] == "worker-ci"
    assert_openai_error(call(dp, "GET", "/key/info", worker, params={"key": boss}), 403)
    assert_openai_error(call(dp, "POST", "/key/delete", worker, json={"keys": [boss]}), 403)
    assert_openai_error(call(dp, "POST", "/key/update", worker, json={"key": mine["key"], "max_budget": 100}), 403)
    assert_openai_error(call(dp, "GET", "/user/list", worker), 403)
    assert_openai_error(call(dp, "GET", "/user/info", worker, params={"user_id": "boss"}), 403)
    assert_openai_error(call(dp, "POST", "/user/new", worker, json={"user_id": "x"}), 403)
    assert_openai_error(call(dp, "GET", "/customer/list", worker), 403)

    # internal_user_viewer: reads its own keys, creates none.
    assert_openai_error(call(dp, "POST", "/key/generate", watcher, json={}), 403)
    assert ok(call(dp, "GET", "/key/list", watcher))["total_count"] == 1

    # Demoting the user takes effect on the next call.
    ok(admin(dp, "POST", "/user/update", json={"user_id": "boss", "user_role": "internal_user"}))
    assert_openai_error(call(dp, "POST", "/team/new", boss, json={}), 403)
    assert ok(admin(dp, "GET", "/user/list"))["total"] == 5, "refused calls wrote nothing"
