"""The Models page's "check now" in a real Chromium: the health probe of one deployment runs on
the data plane that serves the page (the control plane authorizes it, the data plane calls the
provider), and the page shows what it found — healthy, or unhealthy with the provider's error
exactly as that data plane's /health reports it. Only that deployment is probed. The control
plane's own /ui refuses, saying where to go. No credential reaches the page."""

from __future__ import annotations

from typing import Any

import httpx

from ui_support import open_tab


def test_check_now_runs_the_probe_on_the_serving_data_plane(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    with dp2.http() as h:
        r = h.get("/health", headers=dp2.auth_headers())
        assert r.status_code == 200, r.text
        health = r.json()
    failing = next(e for e in health["unhealthy_endpoints"] if e["model_name"] == "server-error")
    healthy = next(e for e in health["healthy_endpoints"] if e["model_name"] == "gpt-4o-mini")

    tab = open_tab(browser, dp2.base_url)
    tab.login(c.master_key)
    tab.goto("#/models", "Models")
    seen = len(c.mock.chat_requests())

    def check(model_id: str) -> Any:
        cell = tab.page.locator(f".health[data-deployment='{model_id}']")
        before = len(tab.api_requests(f"models/{model_id}/check"))
        cell.locator("button:text('Check now')").click()
        tab.page.wait_for_selector(f".health[data-deployment='{model_id}'][data-healthy]")
        assert len(tab.api_requests(f"models/{model_id}/check")) == before + 1
        return cell

    cell = check(healthy["model_id"])
    assert cell.get_attribute("data-healthy") == "true"
    assert cell.locator(".badge").first.inner_text() == "healthy"
    assert f"on {dp2.node_id}" in cell.inner_text()
    # One probe, of that deployment only, reached the provider.
    probes = c.mock.chat_requests()[seen:]
    assert [p["body"]["model"] for p in probes] == ["gpt-4o-mini"], probes

    cell = check(failing["model_id"])
    assert cell.get_attribute("data-healthy") == "false"
    assert cell.locator(".badge").first.inner_text() == "unhealthy"
    assert cell.locator(".error").inner_text() == failing["error"]
    assert f"on {dp2.node_id}" in cell.inner_text()
    tab.shot("models-check-now")
    assert c.provider_key not in tab.page.content()
    assert tab.escaped == []
    assert tab.console_errors == []

    # Straight to the control plane (it calls no provider): refused with where to go; and an
    # unknown deployment is a 404 through a data plane too.
    with httpx.Client(base_url=c.cp.http_url, trust_env=False) as h:
        session = h.post("/ui/api/login", json={"username": "admin", "password": c.master_key}).json()
        r = h.post(f"/ui/api/models/{healthy['model_id']}/check", headers={"x-tollgate-csrf": session["csrf_token"]})
        assert r.status_code == 409, r.text
        assert "through a data plane" in r.json()["error"]["message"]
    with dp1.http() as h:
        session = h.post("/ui/api/login", json={"username": "admin", "password": c.master_key}).json()
        r = h.post("/ui/api/models/no-such-deployment/check", headers={"x-tollgate-csrf": session["csrf_token"]})
        assert r.status_code == 404, r.text
        # Without the CSRF token a session's POST is refused before anything runs.
        r = h.post(f"/ui/api/models/{healthy['model_id']}/check")
        assert r.status_code == 403, r.text


def test_a_viewer_cannot_run_a_health_probe(cluster: Any, browser: Any) -> None:
    """A probe calls the provider with the deployment's key: a viewer's Models page has no
    "Check now", and forcing the call with the session's own CSRF token is refused before any
    probe runs."""
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/user/new", headers=dp.auth_headers(), json={"user_id": "viewer-m", "user_role": "proxy_admin_viewer"})
        assert r.status_code == 200, r.text
        viewer_key = r.json()["key"]
        health = h.get("/health", headers=dp.auth_headers()).json()
    healthy = next(e for e in health["healthy_endpoints"] if e["model_name"] == "gpt-4o-mini")
    tab = open_tab(browser, dp.base_url)
    tab.login(viewer_key, username="viewer-m")
    tab.goto("#/models", "Models")
    assert tab.page.locator("main table tbody tr").count() > 0
    assert tab.page.locator("main button:text('Check now')").count() == 0
    assert tab.console_errors == []
    seen = len(c.mock.chat_requests())
    status, body = tab.page.evaluate("""async (id) => {
        const s = await (await fetch('api/session')).json();
        const r = await fetch('api/models/' + encodeURIComponent(id) + '/check', {method: 'POST', headers: {'x-tollgate-csrf': s.csrf_token}});
        return [r.status, await r.json()];
    }""", healthy["model_id"])
    assert status == 403, body
    assert body["error"]["type"] == "permission_error"
    assert "proxy_admin" in body["error"]["message"]
    assert c.mock.chat_requests()[seen:] == []
