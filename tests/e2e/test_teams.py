"""Teams: LiteLLM's /team/* routes, team roles, and enforcement of a team's model list and block
on every data plane."""

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


def team_count(dp) -> int:
    return len(ok(admin(dp, "GET", "/team/list")))


def test_team_lifecycle_and_enforcement_on_two_data_planes(cluster, mock_provider):
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps

    team = ok(
        admin(
            dp1,
            "POST",
            "/team/new",
            json={
                "team_alias": "ml-team",
                "models": ["local-mock"],
                "max_budget": 10.5,
                "budget_duration": "30d",
                "rpm_limit": 100,
                "metadata": {"cost_center": "42"},
                "members_with_roles": [{"role": "admin", "user_id": "alice"}, {"role": "user", "user_id": "bob"}],
            },
        )
    )
    team_id = team["team_id"]
    assert len(team_id) == 36 and team["team_alias"] == "ml-team" and team["models"] == ["local-mock"]
    assert team["max_budget"] == 10.5 and team["spend"] == 0.0 and team["blocked"] is False
    assert team["budget_duration"] == "30d" and team["budget_reset_at"] is not None
    assert team["metadata"] == {"cost_center": "42"} and team["rpm_limit"] == 100
    assert {(m["user_id"], m["role"]) for m in team["members_with_roles"]} == {("alice", "admin"), ("bob", "user")}
    assert team["admins"] == ["alice"]

    key = ok(admin(dp1, "POST", "/key/generate", json={"team_id": team_id}))["key"]
    expect_chat(dp2, key, LOCAL, 200, "/key/generate on dp1")

    # The team's model list refuses other models, before the provider is called.
    mock_provider.clear()
    denied = chat(dp2, key, UPSTREAM)
    err = assert_openai_error(denied, 403, type="key_model_access_denied")
    assert "local-mock" in err["message"] and "gpt-4o-mini" in err["message"] and err["param"] == "model"
    assert err["message"].startswith("team not allowed"), "the message names the team's list"
    assert mock_provider.chat_requests() == []
    assert [m["id"] for m in ok(call(dp1, "GET", "/v1/models", key))["data"]] == ["local-mock"]

    # A key's own list narrows the team's further (intersection).
    narrow = ok(admin(dp1, "POST", "/key/generate", json={"team_id": team_id, "models": ["gpt-4o-mini"]}))["key"]
    assert_openai_error(expect_chat(dp2, narrow, LOCAL, 403, "/key/generate on dp1"), 403, type="key_model_access_denied")
    assert_openai_error(chat(dp1, narrow, UPSTREAM), 403, type="key_model_access_denied")
    assert ok(call(dp1, "GET", "/v1/models", narrow))["data"] == []

    # /team/info: the team, its members, its keys.
    info = ok(admin(dp1, "GET", "/team/info", params={"team_id": team_id}))
    assert info["team_id"] == team_id and info["team_info"]["team_alias"] == "ml-team"
    assert len(info["keys"]) == 2 and all(k["team_id"] == team_id for k in info["keys"])
    assert {m["user_id"] for m in info["team_memberships"]} == {"alice", "bob"}

    # Update widens the model list on every data plane.
    update = admin(dp2, "POST", "/team/update", json={"team_id": team_id, "models": []})
    assert_applied(update, 2)
    updated = update.json()
    assert updated["team_id"] == team_id and updated["data"]["models"] == []
    assert updated["data"]["team_alias"] == "ml-team", "fields not given stay unchanged"
    expect_chat(dp1, key, UPSTREAM, 200, "/team/update on dp2")

    # Members.
    added = ok(admin(dp1, "POST", "/team/member_add", json={"team_id": team_id, "member": {"role": "user", "user_id": "carol"}}))
    assert "carol" in added["members"] and [u["user_id"] for u in added["updated_users"]] == ["carol"]
    removed = ok(admin(dp1, "POST", "/team/member_delete", json={"team_id": team_id, "user_id": "bob"}))
    assert {m["user_id"] for m in removed["members_with_roles"]} == {"alice", "carol"}
    assert_openai_error(admin(dp1, "POST", "/team/member_delete", json={"team_id": team_id, "user_id": "bob"}), 404)
    # A member added by id exists as an internal user now.
    assert ok(admin(dp1, "GET", "/user/info", params={"user_id": "carol"}))["user_info"]["user_role"] == "internal_user"

    # Block: every key of the team gets LiteLLM's 401 on every data plane.
    block = admin(dp1, "POST", "/team/block", json={"team_id": team_id})
    assert_applied(block, 2)
    assert block.json()["blocked"] is True
    for dp in (dp2, dp1):
        err = assert_openai_error(expect_chat(dp, key, LOCAL, 401, "/team/block on dp1"), 401, type="auth_error")
        assert f"Team={team_id} is blocked" in err["message"] and "/team/unblock" in err["message"]
    unblock = admin(dp2, "POST", "/team/unblock", json={"team_id": team_id})
    assert_applied(unblock, 2)
    assert unblock.json()["blocked"] is False
    expect_chat(dp1, key, LOCAL, 200, "/team/unblock on dp2")

    listed = ok(admin(dp1, "GET", "/team/list"))
    assert [t["team_id"] for t in listed] == [team_id]

    # Delete: the team's keys go with it (LiteLLM does the same).
    delete = admin(dp2, "POST", "/team/delete", json={"team_ids": [team_id]})
    assert_applied(delete, 2)
    deleted = delete.json()
    assert deleted["deleted_teams"] == [team_id] and len(deleted["deleted_keys"]) == 2
    for dp in (dp1, dp2):
        refused = expect_chat(dp, key, LOCAL, 401, "/team/delete on dp2")
        assert_openai_error(refused, 401, type="token_not_found_in_db")
    assert_openai_error(admin(dp1, "GET", "/team/info", params={"team_id": team_id}), 404)
    assert ok(admin(dp1, "GET", "/team/list")) == []
    # The alias is free again.
    assert admin(dp1, "POST", "/team/new", json={"team_alias": "ml-team"}).status_code == 200


def test_bad_team_input_is_a_400_and_nothing_is_written(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    ok(admin(dp, "POST", "/team/new", json={"team_alias": "taken", "team_id": "t-1"}))
    cases = [
        ({"max_budget": -1}, "max_budget"),
        ({"soft_budget": -0.5}, "soft_budget"),
        ({"budget_duration": "1 week"}, "budget_duration"),
        ({"team_alias": "taken"}, "taken"),
        ({"team_id": "t-1"}, "t-1"),
        ({"models": "local-mock"}, "models"),
        ({"rpm_limit": "ten"}, "rpm_limit"),
        ({"tpm_limit": -5}, "tpm_limit"),
        ({"blocked": "yes"}, "blocked"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"model_rpm_limit": {"local-mock": "x"}}, "model_rpm_limit"),
        ({"members_with_roles": [{"role": "owner", "user_id": "x"}]}, "role"),
        ({"members_with_roles": [{"role": "user"}]}, "user_id"),
        ({"members_with_roles": "alice"}, "members_with_roles"),
    ]
    for body, mentioned in cases:
        err = assert_openai_error(admin(dp, "POST", "/team/new", json=body), 400)
        assert mentioned in err["message"], (body, err)
    with dp.http() as h:
        bad_json = h.post("/team/new", content=b"{nope", headers={**dp.auth_headers(), "content-type": "application/json"})
    assert_openai_error(bad_json, 400)
    assert team_count(dp) == 1
    assert ok(admin(dp, "GET", "/user/list"))["total"] == 0, "no member was created by a refused team"

    # Update: bad values and unknown teams, nothing changes.
    assert_openai_error(admin(dp, "POST", "/team/update", json={"team_id": "t-1", "max_budget": -3}), 400)
    assert_openai_error(admin(dp, "POST", "/team/update", json={"max_budget": 3}), 400)
    assert_openai_error(admin(dp, "POST", "/team/update", json={"team_id": "nope", "max_budget": 3}), 404)
    assert ok(admin(dp, "GET", "/team/info", params={"team_id": "t-1"}))["team_info"]["max_budget"] is None
    assert_openai_error(admin(dp, "GET", "/team/info"), 400)
    assert_openai_error(admin(dp, "POST", "/team/delete", json={"team_ids": ["t-1", "nope"]}), 404)
    assert_openai_error(admin(dp, "POST", "/team/delete", json={}), 400)
    assert team_count(dp) == 1, "a delete naming an unknown team deletes nothing"
    assert_openai_error(admin(dp, "POST", "/team/member_add", json={"team_id": "nope", "member": {"user_id": "a"}}), 404)
    assert_openai_error(admin(dp, "POST", "/team/member_add", json={"team_id": "t-1"}), 400)
    assert_openai_error(admin(dp, "POST", "/team/member_add", json={"team_id": "t-1", "member": {"user_id": "a", "role": "boss"}}), 400)
    assert_openai_error(admin(dp, "POST", "/team/block", json={"team_id": "nope"}), 404)

    # /key/generate naming an unknown team or user: 400, no key written.
    for body, mentioned in [({"team_id": "nope"}, "team"), ({"user_id": "ghost"}, "user")]:
        err = assert_openai_error(admin(dp, "POST", "/key/generate", json=body), 400)
        assert mentioned in err["message"] and "does not exist" in err["message"], err
    assert ok(admin(dp, "GET", "/key/list"))["total_count"] == 0


def test_team_roles(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    ok(admin(dp, "POST", "/team/new", json={"team_id": "red", "members_with_roles": [{"role": "admin", "user_id": "lead"}, {"role": "user", "user_id": "dev"}]}))
    ok(admin(dp, "POST", "/team/new", json={"team_id": "blue"}))
    lead = ok(admin(dp, "POST", "/key/generate", json={"user_id": "lead"}))["key"]
    dev = ok(admin(dp, "POST", "/key/generate", json={"user_id": "dev"}))["key"]
    plain = ok(admin(dp, "POST", "/key/generate", json={}))["key"]
    expect_chat(dp, plain, LOCAL, 200, "/key/generate")

    # Only admins create, change and delete teams.
    for key in (lead, dev, plain):
        assert_openai_error(call(dp, "POST", "/team/new", key, json={"team_alias": "x"}), 403, type="permission_error")
        assert_openai_error(call(dp, "POST", "/team/update", key, json={"team_id": "red", "max_budget": 1}), 403)
        assert_openai_error(call(dp, "POST", "/team/delete", key, json={"team_ids": ["red"]}), 403)
        assert_openai_error(call(dp, "POST", "/team/block", key, json={"team_id": "red"}), 403)

    # A team admin manages its own team's members and keys, not another team's.
    assert ok(call(dp, "POST", "/team/member_add", lead, json={"team_id": "red", "member": {"user_id": "new-dev"}}))["team_id"] == "red"
    assert_openai_error(call(dp, "POST", "/team/member_add", lead, json={"team_id": "blue", "member": {"user_id": "x"}}), 403)
    assert_openai_error(call(dp, "POST", "/team/member_add", dev, json={"team_id": "red", "member": {"user_id": "x"}}), 403)
    team_key = ok(call(dp, "POST", "/key/generate", lead, json={"team_id": "red"}))
    assert team_key["team_id"] == "red"
    assert_openai_error(call(dp, "POST", "/key/generate", lead, json={"team_id": "blue"}), 403)
    assert_openai_error(call(dp, "POST", "/key/generate", dev, json={"team_id": "red"}), 403)
    assert ok(call(dp, "POST", "/key/block", lead, json={"key": team_key["key"]}))["blocked"] is True
    expect_chat(dp, team_key["key"], LOCAL, 401, "/key/block by the team's admin")
    assert_openai_error(call(dp, "POST", "/key/block", dev, json={"key": team_key["key"]}), 403)

    # Members read their team; others do not. Non-admins list only their own teams.
    assert ok(call(dp, "GET", "/team/info", dev, params={"team_id": "red"}))["team_id"] == "red"
    assert_openai_error(call(dp, "GET", "/team/info", dev, params={"team_id": "blue"}), 403)
    assert [t["team_id"] for t in ok(call(dp, "GET", "/team/list", dev))] == ["red"]
    assert_openai_error(call(dp, "GET", "/team/list", plain), 403)
    assert sorted(t["team_id"] for t in ok(admin(dp, "GET", "/team/list"))) == ["blue", "red"]
