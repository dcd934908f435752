"""The guide's revoke commands verbatim: DELETE on LiteLLM's delete routes, body as for POST.

LiteLLM registers `/key/delete`, `/team/delete`, `/user/delete` and `/customer/delete` for
POST only and answers its own guide's `curl -X DELETE ... -d '{"keys": [...]}'` with 405;
Tollgate accepts both methods (docs/COMPATIBILITY.md, "DELETE on delete routes").
"""

from __future__ import annotations

from typing import Any

import httpx

from expect import assert_openai_error


def admin(dp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with dp.http() as c:
        return c.request(method, path, headers=dp.auth_headers(), **kwargs)


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text}"
    return r.json()


def test_delete_routes_accept_the_delete_method(cluster):
    c = cluster(data_planes=1)
    dp = c.dps[0]

    key = ok(admin(dp, "POST", "/key/generate", json={"key_alias": "to-revoke"}))["key"]
    # As the guide writes it: -X DELETE with a JSON body (curl sends it form-encoded by default).
    with dp.http() as h:
        r = h.request(
            "DELETE",
            "/key/delete",
            content=f'{{"keys": ["{key}"]}}'.encode(),
            headers={**dp.auth_headers(), "content-type": "application/x-www-form-urlencoded"},
        )
    assert ok(r) == {"deleted_keys": [key]}
    assert ok(admin(dp, "GET", "/key/info", params={"key": key}))["info"]["status"] == "deleted"

    team = ok(admin(dp, "POST", "/team/new", json={"team_alias": "doomed"}))["team_id"]
    assert ok(admin(dp, "DELETE", "/team/delete", json={"team_ids": [team]}))["deleted_teams"] == [team]
    assert_openai_error(admin(dp, "GET", "/team/info", params={"team_id": team}), 404)

    ok(admin(dp, "POST", "/user/new", json={"user_id": "leaver"}))
    assert ok(admin(dp, "DELETE", "/user/delete", json={"user_ids": ["leaver"]}))["deleted_users"] == ["leaver"]
    assert_openai_error(admin(dp, "GET", "/user/info", params={"user_id": "leaver"}), 404)

    ok(admin(dp, "POST", "/customer/new", json={"user_id": "churned"}))
    assert ok(admin(dp, "DELETE", "/customer/delete", json={"user_ids": ["churned"]}))["deleted_customers"] == 1
    assert_openai_error(admin(dp, "GET", "/customer/info", params={"end_user_id": "churned"}), 404)

    # The same checks as POST: a bad body is a 400 naming the field, a virtual key may not delete.
    err = assert_openai_error(admin(dp, "DELETE", "/key/delete", json={"keys": "sk-x"}), 400)
    assert err["param"] == "keys", err
    other = ok(admin(dp, "POST", "/key/generate", json={}))["key"]
    with dp.http() as h:
        denied = h.request("DELETE", "/key/delete", json={"keys": [other]}, headers={"Authorization": f"Bearer {other}"})
    assert_openai_error(denied, 403)
    # Only the delete routes take DELETE.
    assert_openai_error(admin(dp, "DELETE", "/key/generate", json={}), 405)
