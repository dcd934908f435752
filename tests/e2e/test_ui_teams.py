"""Teams, users and customers from the dashboard in a real Chromium, against two data planes:
a team's page shows its seeded spend exactly (the database's sum of its logs) with its keys and
members; members added and removed there, and its budget and models edited there, are what
the management API then answers, and the model list is in force on every data plane; users
and customers are edited from their lists; a viewer sees no write control on these pages and
the API refuses its writes. Screenshots under target/ui-shots/."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from components import pg_connect
from expect import assert_applied
from ui_support import Tab, open_tab, wait_for_spend_logs


def team_info(dp: Any, team_id: str) -> dict[str, Any]:
    with dp.http() as h:
        r = h.get("/team/info", headers=dp.auth_headers(), params={"team_id": team_id})
        assert r.status_code == 200, r.text
        return r.json()["team_info"]


def members(dp: Any, team_id: str) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in team_info(dp, team_id)["members_with_roles"]}


def save_dialog(tab: Tab, values: dict[str, str], toast: str) -> None:
    dialog = tab.page.locator("dialog.dialog")
    for name, value in values.items():
        dialog.locator(f"input[name={name}]").fill(value)
    dialog.locator("button[type=submit]").click()
    # The dialog closes once the write is answered, then the toast says where it is in force.
    tab.page.wait_for_selector("dialog.dialog", state="detached")
    assert toast in tab.page.locator("#toast").inner_text()


def test_team_page_members_budget_and_models(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    with dp1.http() as h:
        r = h.post("/team/new", headers=dp1.auth_headers(), json={"team_alias": "research", "max_budget": 50})
        assert_applied(r, 2)
        team_id = r.json()["team_id"]
        keys = []
        for alias in ("research-1", "research-2"):
            r = h.post("/key/generate", headers=dp1.auth_headers(), json={"key_alias": alias, "team_id": team_id})
            assert_applied(r, 2)
            keys.append(r.json()["key"])
        assert_applied(h.post("/user/new", headers=dp1.auth_headers(),
                              json={"user_id": "alice", "user_role": "internal_user"}), 2)
    for i in range(5):
        dp = (dp1, dp2)[i % 2]
        dp.openai_client(api_key=keys[i % 2]).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"team request {i}"}])
    # Not the team's: the master key's request counts elsewhere.
    dp1.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    wait_for_spend_logs(c.cp.database_url, 6)
    with pg_connect(c.cp.database_url) as conn:
        team_picos, team_requests = conn.execute(
            "SELECT sum(spend_picos), count(*) FROM spend_logs WHERE team_id = %s", (team_id,)).fetchone()
    assert team_requests == 5 and team_picos > 0

    tab = open_tab(browser, dp2.base_url)
    tab.login(c.master_key)
    tab.goto("#/teams", "Teams")
    tab.requests.clear()
    tab.page.click("main a:text('research')")
    tab.wait_ready("Team research")
    # Two requests: the team (with its keys) and its series.
    assert len(tab.api_requests(f"teams/{team_id}")) == 1
    assert len(tab.api_requests("usage/timeseries")) == 1
    api_calls = [u for u in tab.requests if "/ui/api/" in u]
    assert len(api_calls) == 2, api_calls
    assert tab.tile("team_spend_30d") == str(team_picos)
    assert "5 requests" in tab.page.locator("[data-tile='team_spend_30d']").inner_text()
    assert tab.tile("team_keys") == "2"
    assert tab.tile("team_members") == "0"
    assert tab.page.locator("section.card:has(h2:text('Spend per day')) svg.chart rect.bar").count() >= 1
    key_rows = tab.page.locator("section.card:has(h2:text-is('Keys')) tbody tr td:first-child").all_inner_texts()
    assert sorted(key_rows) == ["research-1", "research-2"]

    # Members: added with a role, removed; the API answers what the page did.
    def add(user: str, role: str) -> None:
        tab.page.fill("input[name=member_user_id]", user)
        tab.page.select_option("select[name=member_role]", role)
        tab.page.click("button:text('Add member')")
        tab.page.wait_for_selector(f"#toast:has-text('Added {user}: in force on 2/2 data planes')")
        tab.wait_ready("Team research")

    add("alice", "admin")
    add("bob", "user")  # unknown: created as the API does
    assert members(dp1, team_id) == {"alice": "admin", "bob": "user"}
    rows = tab.page.locator("section.card:has(h2:text-is('Members')) tbody tr")
    assert rows.count() == 2
    assert tab.tile("team_members") == "2"
    assert "admin" in rows.filter(has_text="alice").inner_text()
    rows.filter(has_text="bob").locator("button:text('Remove')").click()
    tab.page.wait_for_selector("#toast:has-text('Removed bob: in force on 2/2 data planes')")
    tab.wait_ready("Team research")
    assert members(dp2, team_id) == {"alice": "admin"}

    # Budget and models edited: saved, and the model list refused on both data planes.
    tab.page.click("main header button:text('Edit')")
    save_dialog(tab, {"max_budget": "75", "models": "gpt-4o-mini"}, "Saved: in force on 2/2 data planes")
    tab.wait_ready("Team research")
    info = team_info(dp1, team_id)
    assert info["max_budget"] == 75 and info["models"] == ["gpt-4o-mini"]
    assert "$75.00" in tab.page.locator("section.card:has(h2:text('Settings'))").inner_text()
    for dp in (dp1, dp2):
        with pytest.raises(openai.PermissionDeniedError):
            dp.openai_client(api_key=keys[0]).chat.completions.create(
                model="local-mock", messages=[{"role": "user", "content": "not allowed"}])
    tab.shot("team-detail")

    # Users and customers: edited from their lists.
    with dp1.http() as h:
        assert_applied(h.post("/customer/new", headers=dp1.auth_headers(),
                              json={"user_id": "acme", "max_budget": 5}), 2)
    tab.goto("#/users", "Users")
    tab.page.locator("main tbody tr:has-text('alice') button:text('Edit')").click()
    save_dialog(tab, {"max_budget": "12", "user_email": "alice@example.com"}, "Saved: in force on 2/2 data planes")
    tab.wait_ready("Users")
    with dp2.http() as h:
        user = h.get("/user/info", headers=dp2.auth_headers(), params={"user_id": "alice"}).json()["user_info"]
    assert user["max_budget"] == 12 and user["user_email"] == "alice@example.com"
    assert "$12.00" in tab.page.locator("main tbody tr:has-text('alice')").inner_text()
    tab.goto("#/customers", "Customers")
    acme = tab.page.locator("main tbody tr:has-text('acme')")
    assert "$5.00" in acme.inner_text()
    acme.locator("button:text('Edit')").click()
    save_dialog(tab, {"alias": "Acme Corp"}, "Saved: in force on 2/2 data planes")
    tab.wait_ready("Customers")
    with dp2.http() as h:
        customer = h.get("/customer/info", headers=dp2.auth_headers(), params={"end_user_id": "acme"}).json()
    assert customer["alias"] == "Acme Corp"
    assert tab.page.locator("main tbody tr:has-text('Acme Corp')").count() == 1
    tab.shot("customers-edited")
    assert tab.escaped == []
    assert tab.console_errors == []


def test_a_viewer_sees_no_write_control_on_a_team(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/team/new", headers=dp.auth_headers(),
                   json={"team_alias": "ops", "members_with_roles": [{"user_id": "carol", "role": "admin"}]})
        assert_applied(r, 1)
        team_id = r.json()["team_id"]
        assert_applied(h.post("/customer/new", headers=dp.auth_headers(), json={"user_id": "end-1"}), 1)
        r = h.post("/user/new", headers=dp.auth_headers(), json={"user_id": "viewer-2", "user_role": "proxy_admin_viewer"})
        assert_applied(r, 1)
        viewer_key = r.json()["key"]
    tab = open_tab(browser, dp.base_url)
    tab.login(viewer_key, username="viewer-2")
    tab.goto(f"#/teams/{team_id}", "Team ops")
    assert tab.tile("team_members") == "1"
    main = tab.page.locator("main")
    for label in ("Edit", "Block", "Delete", "Add member", "Remove"):
        assert main.locator(f"button:text-is('{label}')").count() == 0, label
    assert main.locator("input[name=member_user_id]").count() == 0
    tab.shot("team-viewer")
    for route, heading in (("#/teams", "Teams"), ("#/users", "Users"), ("#/customers", "Customers")):
        tab.goto(route, heading)
        assert main.locator("button:text-is('Edit')").count() == 0, heading
    assert tab.console_errors == []
    # The API refuses the viewer's writes anyway (the browser logs those 403s: checked above).
    for path, body in ((f"teams/{team_id}/members", {"user_id": "mallory"}), (f"teams/{team_id}/update", {"max_budget": 1}),
                       ("users/carol/update", {"max_budget": 1}), ("customers/end-1/update", {"alias": "x"})):
        status = tab.page.evaluate("""async ([path, body]) => {
            const s = await (await fetch('api/session')).json();
            const r = await fetch('api/' + path, {method: 'POST', headers: {'content-type': 'application/json',
                'x-tollgate-csrf': s.csrf_token}, body: JSON.stringify(body)});
            return r.status;
        }""", [path, body])
        assert status == 403, (path, status)
    assert members(dp, team_id) == {"carol": "admin"}
