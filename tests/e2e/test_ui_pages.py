"""Every dashboard page in a real Chromium, against two data planes and a control plane on
PostgreSQL, with usage seeded through the real API and the openai SDK: the numbers shown are
the database's exactly, totals equal /global/spend, each page costs one request per widget,
nothing leaves the origin, no console error. A screenshot of every page is saved under
target/ui-shots/."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import openai
import pytest

from components import pg_connect
from expect import assert_applied
from ui_support import Tab, open_tab, wait_for_spend_logs


def seed(c: Any) -> dict[str, Any]:
    """A key, five priced requests with it across both data planes, two free ones with the
    master key, one failure; returns what the database then holds."""
    dp1, dp2 = c.dps
    with dp1.http() as h:
        r = h.post("/key/generate", headers=dp1.auth_headers(), json={"key_alias": "ui-seed", "max_budget": 100})
    assert_applied(r, 2)
    key = r.json()["key"]
    for i in range(5):
        dp = (dp1, dp2)[i % 2]
        dp.openai_client(api_key=key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"hello number {i}"}]
        )
    for dp in (dp1, dp2):
        dp.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIStatusError):
        dp1.openai_client().chat.completions.create(
            model="server-error", messages=[{"role": "user", "content": "fail"}]
        )
    wait_for_spend_logs(c.cp.database_url, 8)
    with pg_connect(c.cp.database_url) as conn:
        total, count, errors = conn.execute(
            "SELECT sum(spend_picos), count(*), count(*) FILTER (WHERE status <> 'success') FROM spend_logs"
        ).fetchone()
        by_model = dict(conn.execute("SELECT model_group, sum(spend_picos) FROM spend_logs GROUP BY 1").fetchall())
        key_picos = conn.execute(
            "SELECT sum(spend_picos) FROM spend_logs WHERE key_alias = 'ui-seed'"
        ).fetchone()[0]
    assert total > 0
    return {"key": key, "total": int(total), "count": int(count), "errors": int(errors),
            "by_model": {k: int(v) for k, v in by_model.items()}, "key_picos": int(key_picos)}


def picos_by_name(tab: Tab, table_selector: str) -> dict[str, int]:
    rows = tab.page.locator(f"{table_selector} tbody tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        out[row.locator("td").first.inner_text()] = int(row.locator("[data-picos]").first.get_attribute("data-picos"))
    return out


def test_every_page_shows_the_seeded_numbers(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    s = seed(c)
    dp1, dp2 = c.dps
    with dp2.http() as h:
        global_spend = h.get("/global/spend", headers=dp2.auth_headers()).json()["spend"]
    assert abs(global_spend - s["total"] / 1e12) < 1e-9

    tab = open_tab(browser, dp2.base_url)
    tab.login(c.master_key)
    tab.goto("#/overview", "Overview")
    assert tab.tile("requests") == str(s["count"])
    assert tab.tile("errors") == str(s["errors"])
    assert tab.tile("spend_today") == str(s["total"])
    assert tab.tile("fleet") == "2"
    assert "2 / 2" in tab.page.locator("[data-tile='fleet']").inner_text()
    assert tab.page.locator("svg.chart rect.bar").count() >= 1
    top_models = picos_by_name(tab, "section.card:has(h2:text('Top models')) table")
    assert top_models == {m: p for m, p in sorted(s["by_model"].items(), key=lambda kv: -kv[1])}
    assert len(tab.api_requests("overview")) == 1
    tab.shot("overview")

    tab.goto("#/usage", "Usage")
    assert tab.tile("spend") == str(s["total"])
    assert tab.tile("requests") == str(s["count"])
    assert picos_by_name(tab, "section.card:has(h2:text('By model')) table") == s["by_model"]
    assert len(tab.api_requests("usage/timeseries")) == 3  # two on Overview, one here
    tab.shot("usage")
    # The CSV export adds up to the same total.
    href = tab.page.locator("a:text('Export CSV')").get_attribute("href")
    r = tab.context.request.get(href)
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text())))
    assert sum(int(x["spend_picos"]) for x in rows) == s["total"]
    assert sum(int(x["requests"]) for x in rows) == s["count"]
    # Grouped by key the default range is month to date (the monthly rollup's index walk):
    # the seeded key's spend exactly, the same total, one request.
    before = len(tab.api_requests("usage/timeseries"))
    tab.page.get_by_label("Group by").select_option("key")
    tab.page.wait_for_selector("section.card h2:text('By key')")
    tab.wait_ready("Usage")
    calls = tab.api_requests("usage/timeseries")
    assert len(calls) == before + 1
    month_start = time.strftime("%Y-%m-01T00%%3A00%%3A00.000Z", time.gmtime())
    assert "group_by=key" in calls[-1] and f"start={month_start}" in calls[-1], calls[-1]
    assert tab.page.get_by_label("Range").input_value() == "mtd"
    assert tab.tile("spend") == str(s["total"])
    assert picos_by_name(tab, "section.card:has(h2:text('By key')) table")["ui-seed"] == s["key_picos"]
    by_key = tab.page.locator("section.card:has(h2:text('By key')) table")
    assert by_key.locator("a:text('ui-seed')").get_attribute("href").startswith("#/keys/")
    # The master key has no key page: its row leads to its logs (two answers, one failure).
    master = by_key.locator("a:text('(master key)')")
    assert master.get_attribute("href").startswith("#/logs?key=")
    tab.shot("usage-by-key")
    master.click()
    tab.wait_ready("Logs")
    assert tab.page.locator("main table tbody tr").count() == 3
    tab.goto("#/usage", "Usage")
    # A bar leads to the logs of its model and day.
    tab.page.locator("section.card:has(h2:text-is('Spend')) rect.bar[data-series='gpt-4o-mini']").first.click()
    tab.wait_ready("Logs")
    assert "model=gpt-4o-mini" in tab.page.evaluate("location.hash")
    assert tab.page.locator("main table tbody tr").count() == 5

    tab.goto("#/keys", "Keys")
    assert tab.page.locator("main table tbody tr:has-text('ui-seed')").count() == 1
    assert len(tab.api_requests("keys")) == 1
    tab.shot("keys")
    tab.page.click("main a:text('ui-seed')")
    tab.wait_ready("Key ui-seed")
    assert tab.tile("key_requests") == "5"
    assert tab.page.locator("main table tbody tr").count() == 5
    tab.shot("key-detail")

    tab.goto("#/logs", "Logs")
    before = len(tab.requests)
    assert tab.page.locator("main table tbody tr").count() == s["count"]
    failed = tab.page.locator("main table tbody tr:has(.badge.bad)")
    assert failed.count() == 1
    failed.locator("button.link").click()
    drawer = tab.page.locator("aside.drawer")
    drawer.wait_for()
    assert "server-error" in drawer.inner_text()
    assert len(tab.requests) == before, "the drawer is fed by the row, not by a request"
    tab.shot("logs-drawer")
    tab.page.keyboard.press("Escape")
    assert drawer.count() == 0

    tab.goto("#/fleet", "Fleet & settings")
    fleet_rows = tab.page.locator("section.card:has(h2:text('Data planes')) tbody tr")
    assert fleet_rows.count() == 2
    assert sorted(fleet_rows.locator("td:first-child").all_inner_texts()) == sorted(dp.node_id for dp in c.dps)
    assert c.provider_key not in tab.page.content()
    tab.shot("fleet")

    tab.goto("#/models", "Models")
    names = tab.page.locator("main section.card .model-head h2").all_inner_texts()
    assert names == [m["model_name"] for m in c.config["model_list"]]
    assert c.provider_key not in tab.page.content()
    models_json = tab.context.request.get(tab.api_requests("models")[0]).text()
    assert c.provider_key not in models_json
    assert c.mock.api_base in tab.page.locator("main").inner_text()
    gpt = tab.page.locator("main section.card:has(h2:text-is('gpt-4o-mini'))")
    assert "5 requests (24 h)" in gpt.inner_text()
    assert "$0.15" in gpt.inner_text()  # gpt-4o-mini's built-in input price per 1M tokens
    tab.shot("models")

    for route, heading in [("#/teams", "Teams"), ("#/users", "Users"), ("#/customers", "Customers")]:
        tab.goto(route, heading)
        tab.shot(heading.lower())
    # One <h1> on each page, checked on the last; every page went through `goto`.
    assert tab.page.locator("h1").count() == 1
    assert tab.escaped == []
    assert tab.console_errors == []
