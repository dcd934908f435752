"""The dashboard's login, in a real Chromium against the real binaries: a server-side session
in an HttpOnly, SameSite=Strict cookie scoped to /ui, nothing secret readable by the page,
no API key minted, failures rate-limited, writes needing the CSRF token, logout ending the
session for good, and the cookie worth nothing on the inference API."""

from __future__ import annotations

from typing import Any

import httpx

from harness import http_client
from ui_support import open_tab


def key_count(dp: Any) -> int:
    with dp.http() as c:
        r = c.get("/key/list", headers=dp.auth_headers(), params={"size": 100})
    assert r.status_code == 200, r.text
    return int(r.json()["total_count"])


def test_login_opens_a_cookie_session_that_the_page_cannot_read(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    keys_before = key_count(dp)
    tab = open_tab(browser, dp.base_url)
    assert tab.page.locator("h1").all_inner_texts() == ["Log in"]
    tab.login(c.master_key)
    tab.page.wait_for_selector("main h1:text-is('Overview')")
    cookies = tab.context.cookies()
    assert [x["name"] for x in cookies] == ["tollgate_session"]
    cookie = cookies[0]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    # Nothing secret where page scripts (or an XSS) could read it.
    readable = tab.page.evaluate("() => document.cookie + JSON.stringify({...localStorage, ...sessionStorage})")
    assert c.master_key not in readable
    assert cookie["value"] not in readable
    assert readable == "{}"
    # No API key was minted for the login.
    assert key_count(dp) == keys_before
    # The cookie opens the dashboard's API, and nothing on the inference API.
    jar = {"cookie": f"tollgate_session={cookie['value']}"}
    with dp.http() as h:
        assert h.get("/ui/api/keys", headers=jar).status_code == 200
        r = h.get("/v1/models", headers=jar)
        assert r.status_code == 401, r.text
        r = h.post("/v1/chat/completions", headers=jar, json={"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 401, r.text
        assert h.get("/key/list", headers=jar).status_code == 401
    tab.shot("login-overview")
    assert tab.escaped == []
    assert tab.console_errors == []


def test_wrong_password_is_refused_then_rate_limited(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    tab = open_tab(browser, dp.base_url)
    tab.page.fill("input[name=password]", "sk-wrong")
    tab.page.click("form.login-card button[type=submit]")
    tab.page.wait_for_selector("p.error:text('Invalid username or password.')")
    assert tab.context.cookies() == []
    tab.shot("login-wrong-password")
    with http_client() as h:
        url = f"{dp.base_url}/ui/api/login"
        # One failure in the browser; four more, then the sixth attempt is refused
        # even with the right password.
        for _ in range(4):
            assert h.post(url, json={"username": "admin", "password": "sk-wrong"}).status_code == 401
        r = h.post(url, json={"username": "admin", "password": c.master_key})
        assert r.status_code == 429, r.text
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert int(r.headers["retry-after"]) >= 1
        assert "set-cookie" not in r.headers


def test_writes_need_the_csrf_token_and_logout_kills_the_session(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    tab = open_tab(browser, dp1.base_url)
    tab.login(c.master_key)
    cookie = tab.context.cookies()[0]["value"]
    jar = {"cookie": f"tollgate_session={cookie}"}
    with dp2.http() as h:
        # The session opened through one data plane works through the other.
        assert h.get("/ui/api/session", headers=jar).json()["logged_in"] is True
        # A cookie-authenticated write without the token: refused, nothing created.
        r = h.post("/ui/api/keys", headers=jar, json={"key_alias": "csrf"})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["type"] == "permission_error"
        csrf = h.get("/ui/api/session", headers=jar).json()["csrf_token"]
        # The token from another origin's page: refused too.
        r = h.post("/ui/api/keys", json={"key_alias": "csrf"},
                   headers={**jar, "x-tollgate-csrf": csrf, "origin": "http://evil.example"})
        assert r.status_code == 403, r.text
        assert h.get("/ui/api/keys", headers=jar, params={"key_alias": "csrf"}).json()["total_count"] == 0
    # The page itself sends it.
    tab.page.click("nav.sidebar button:text('Log out')")
    tab.page.wait_for_selector("p.error:text('You are logged out.')")
    assert tab.context.cookies() == []
    with httpx.Client(base_url=dp2.base_url, trust_env=False) as h:
        r = h.get("/ui/api/keys", headers=jar)
        assert r.status_code == 401, r.text
        assert h.get("/ui/api/session", headers=jar).json() == {"logged_in": False}
    assert tab.console_errors == []


def test_a_session_outlives_a_control_plane_restart_and_logout_outlives_it_too(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    tab = open_tab(browser, dp.base_url)
    tab.login(c.master_key)
    tab.wait_ready("Overview")
    cookie = tab.context.cookies()[0]["value"]
    jar = {"cookie": f"tollgate_session={cookie}"}
    with dp.http() as h:
        csrf = h.get("/ui/api/session", headers=jar).json()["csrf_token"]

    def restart() -> None:
        c.cp.stop()
        c.cp.start()
        # The data plane reconnects on its own (its dashboard tunnel rides the same channel).
        c.wait_in_sync()

    restart()
    # The same browser, the same cookie: still logged in, the page loads, and a write with
    # the same CSRF token goes through.
    tab.page.reload()
    tab.wait_ready("Overview")
    with dp.http() as h:
        assert h.get("/ui/api/session", headers=jar).json()["csrf_token"] == csrf
        r = h.post("/ui/api/keys", json={"key_alias": "after-restart"},
                   headers={**jar, "x-tollgate-csrf": csrf, "origin": dp.base_url})
        assert r.status_code == 200, r.text
    tab.page.click("nav.sidebar button:text('Log out')")
    tab.page.wait_for_selector("p.error:text('You are logged out.')")

    restart()
    with dp.http() as h:
        assert h.get("/ui/api/session", headers=jar).json() == {"logged_in": False}
        assert h.get("/ui/api/keys", headers=jar).status_code == 401
    assert tab.console_errors == []
