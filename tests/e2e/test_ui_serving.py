"""How the dashboard is served: under SERVER_ROOT_PATH on the data planes and on the control
plane's own port, every asset answering 200 with immutable caching, the page no-cache, a
strict CSP; and the Logs page's live tail (one server-sent-events stream) showing a request
made through the openai SDK."""

from __future__ import annotations

import re
from typing import Any

import pytest

from harness import http_client
from ui_support import open_tab


def test_the_dashboard_works_under_a_base_path_on_every_plane(
    cluster: Any, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVER_ROOT_PATH", "/a/b/")
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with http_client() as h:
        page = h.get(f"{dp.base_url}/a/b/ui/")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-cache"
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp
        assets = re.findall(r'(?:src|href)="(static/[^"]+)"', page.text)
        assert len(assets) == 3, page.text
        for asset in assets:
            r = h.get(f"{dp.base_url}/a/b/ui/{asset}")
            assert r.status_code == 200, asset
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert h.get(f"{dp.base_url}/ui/").status_code == 404
        redirect = h.get(f"{dp.base_url}/a/b/ui")
        assert (redirect.status_code, redirect.headers["location"]) == (303, "ui/")
        assert h.get(f"{dp.base_url}/a/b/ui/config.json").json()["server_root_path"] == "/a/b"

    for origin in (dp.base_url, c.cp.http_url):
        tab = open_tab(browser, origin, "/a/b/ui/")
        failed: list[str] = []
        tab.page.on("response", lambda r, failed=failed: failed.append(r.url) if r.status >= 400 else None)
        tab.login(c.master_key)
        tab.goto("#/keys", "Keys")
        tab.goto("#/fleet", "Fleet & settings")
        assert tab.context.cookies()[0]["path"] == "/a/b/ui"
        assert all("/a/b/ui/" in u for u in tab.requests), tab.requests
        assert failed == []
        assert tab.escaped == []
        assert tab.console_errors == []
        tab.shot("base-path-" + ("data-plane" if origin == dp.base_url else "control-plane"))


def test_the_live_tail_shows_a_new_request(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    tab = open_tab(browser, dp1.base_url)
    tab.login(c.master_key)
    tab.goto("#/logs", "Logs")
    assert tab.page.locator("main .empty").inner_text() == "No requests yet."
    # The stream's request event can reach the test after the button shows it pressed: wait for it.
    with tab.page.expect_request(lambda r: "/ui/api/logs/stream" in r.url):
        tab.page.click("main button:text('Live tail')")
    tab.page.wait_for_selector("main button[aria-pressed=true]")
    streams = [u for u in tab.requests if "/ui/api/logs/stream" in u]
    assert len(streams) == 1
    # A request through the other data plane: its row arrives over the stream (ingest is
    # asynchronous by contract, so the locator waits for it).
    reply = dp2.openai_client().chat.completions.create(
        model="local-mock", messages=[{"role": "user", "content": "tail me"}]
    )
    row = tab.page.locator("main table tbody tr:has-text('local-mock')")
    row.wait_for(timeout=20_000)
    assert row.count() == 1
    assert len([u for u in tab.requests if "/ui/api/logs" in u]) == 2  # the page, the stream
    tab.shot("logs-live-tail")
    tab.page.click("main button:text('Stop live tail')")
    assert reply.id
    assert tab.console_errors == []


def test_logout_ends_an_open_live_tail(cluster: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with http_client(timeout=30.0) as h:
        login = h.post(f"{dp.base_url}/ui/api/login", json={"username": "admin", "password": c.master_key})
        assert login.status_code == 200, login.text
        jar = {"cookie": f"tollgate_session={h.cookies['tollgate_session']}"}
        csrf = login.json()["csrf_token"]
        h.cookies.clear()
        with h.stream("GET", f"{dp.base_url}/ui/api/logs/stream", headers=jar) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            r = h.post(f"{dp.base_url}/ui/api/logout", headers={**jar, "x-tollgate-csrf": csrf})
            assert r.status_code == 200, r.text
            # The next record ingested ends the stream instead of reaching it.
            dp.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "x"}])
            body = stream.read().decode()
    assert "event: log" not in body
