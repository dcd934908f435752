"""Managing keys from the dashboard in a real Chromium: a created key is shown once, works
through the openai SDK on every data plane, and is gone from the page when its dialog closes;
a block from the page is in force on every data plane when the page says so; a viewer sees
no write control and the API refuses its writes; the key list costs one request per page
even with 5,000 keys."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from components import pg_connect
from expect import assert_applied
from ui_support import open_tab


def chat(dp: Any, key: str) -> Any:
    return dp.openai_client(api_key=key).chat.completions.create(
        model="local-mock", messages=[{"role": "user", "content": "hi"}]
    )


def test_create_key_shows_it_once_and_block_is_in_force_everywhere(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=2)
    dp1, dp2 = c.dps
    tab = open_tab(browser, dp1.base_url)
    tab.login(c.master_key)
    tab.goto("#/keys", "Keys")
    assert tab.page.locator("main .empty").inner_text().startswith("No keys yet.")
    tab.page.click("main button:text('Create key')")
    dialog = tab.page.locator("dialog.dialog")
    dialog.locator("input[name=key_alias]").fill("from-ui")
    dialog.locator("input[name=rpm_limit]").fill("100")
    tab.shot("keys-create-dialog")
    dialog.locator("button[type=submit]").click()
    secret = tab.page.locator("dialog.dialog [data-secret]")
    secret.wait_for()
    key = secret.inner_text()
    assert key.startswith("sk-")
    assert "in force on 2/2 data planes" in tab.page.locator("dialog.dialog").inner_text()
    tab.shot("keys-created-once")
    # The key works at once on both data planes.
    for dp in (dp1, dp2):
        assert chat(dp, key).choices[0].message.content
    tab.page.locator("dialog.dialog button:text('Done')").click()
    # Closing the dialog reloads the list in the page (its own fetch): wait for the browser to
    # render the new row, then check it is the only one and the secret went with the dialog.
    row = tab.page.locator("main table tbody tr:has-text('from-ui')")
    row.wait_for()
    tab.wait_ready("Keys")
    assert row.count() == 1
    assert tab.page.locator("dialog").count() == 0
    assert key not in tab.page.content()
    # Block from the page: refused by every data plane once the page says it is in force.
    row.locator("button:text('Block')").click()
    tab.page.wait_for_selector("#toast:text('in force on 2/2 data planes')")
    for dp in (dp1, dp2):
        with pytest.raises(openai.AuthenticationError):
            chat(dp, key)
    tab.wait_ready("Keys")
    assert tab.page.locator("main table tbody tr:has-text('from-ui') .badge").inner_text() == "blocked"
    tab.shot("keys-blocked")
    # Unblock, then regenerate: the old key stops, the new one (shown once) works.
    tab.page.locator("main table tbody tr:has-text('from-ui') button:text('Unblock')").click()
    tab.page.wait_for_selector("#toast:text('Unblocked from-ui')")
    assert chat(dp2, key).choices
    tab.wait_ready("Keys")
    tab.page.locator("main table tbody tr:has-text('from-ui') button:text('Regenerate')").click()
    new_key = tab.page.locator("dialog.dialog [data-secret]").inner_text()
    assert new_key != key
    with pytest.raises(openai.AuthenticationError):
        chat(dp2, key)
    assert chat(dp1, new_key).choices
    tab.page.keyboard.press("Escape")  # the native dialog closes on Escape
    tab.wait_ready("Keys")
    assert new_key not in tab.page.content()
    assert tab.escaped == []
    assert tab.console_errors == []


def test_a_viewer_sees_no_write_controls_and_cannot_write(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/user/new", headers=dp.auth_headers(), json={"user_id": "viewer-1", "user_role": "proxy_admin_viewer"})
        assert_applied(r, 1)
        viewer_key = r.json()["key"]
        assert_applied(h.post("/key/generate", headers=dp.auth_headers(), json={"key_alias": "existing"}), 1)
    tab = open_tab(browser, dp.base_url)
    tab.login(viewer_key, username="viewer-1")
    assert "Viewer (read only)" in tab.page.locator("nav.sidebar .who").inner_text()
    tab.goto("#/keys", "Keys")
    assert tab.page.locator("main table tbody tr:has-text('existing')").count() == 1
    assert tab.page.locator("main button:text('Create key')").count() == 0
    assert tab.page.locator("main button:text('Block')").count() == 0
    tab.shot("keys-viewer")
    tab.goto("#/teams", "Teams")
    assert tab.page.locator("main button:text('Create team')").count() == 0
    # Forcing the write with the session's own CSRF token: the API refuses it.
    status, body = tab.page.evaluate("""async () => {
        const s = await (await fetch('api/session')).json();
        const r = await fetch('api/keys', {method: 'POST', headers: {'content-type': 'application/json', 'x-tollgate-csrf': s.csrf_token}, body: '{"key_alias": "sneaky"}'});
        return [r.status, await r.json()];
    }""")
    assert status == 403, body
    assert body["error"]["type"] == "permission_error"
    with dp.http() as h:
        assert h.get("/key/list", headers=dp.auth_headers(), params={"key_alias": "sneaky"}).json()["total_count"] == 0
    # A key of a user with no dashboard role does not log in.
    with dp.http() as h:
        r = h.post("/user/new", headers=dp.auth_headers(), json={"user_id": "plain-1", "user_role": "internal_user"})
        plain_key = r.json()["key"]
        r = h.post("/ui/api/login", json={"username": "plain-1", "password": plain_key})
        assert r.status_code == 401, r.text


def test_the_key_list_is_one_request_per_page_with_5000_keys(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1)
    dp = c.dps[0]

    # One key through the API, copied 4,999 times in the database (5,000 API calls take
    # minutes on a loaded CI machine; the list reads the table either way).
    with dp.http() as h:
        assert_applied(h.post("/key/generate", headers=dp.auth_headers(), json={"key_alias": "bulk-00000"}), 1)
    with pg_connect(c.cp.database_url) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'virtual_keys' ORDER BY ordinal_position"
        ).fetchall()]
        made = {
            "token": "md5('bulk' || n) || md5('key' || n)",
            "key_alias": "'bulk-' || lpad(n::text, 5, '0')",
            "active_alias": "'bulk-' || lpad(n::text, 5, '0')",
        }
        select = ", ".join(made.get(col, col) for col in cols)
        conn.execute(
            f"INSERT INTO virtual_keys ({', '.join(cols)}) SELECT {select} FROM virtual_keys, "
            "generate_series(1, 4999) AS n WHERE key_alias = 'bulk-00000'"
        )
    tab = open_tab(browser, dp.base_url)
    tab.login(c.master_key)
    tab.requests.clear()
    tab.goto("#/keys", "Keys")
    lists = tab.api_requests("keys")
    assert len(lists) == 1, lists
    assert "size=50" in lists[0]
    assert tab.page.locator("main table tbody tr").count() == 50
    assert "5,000 keys" in tab.page.locator("nav.pager").inner_text()

    def shown() -> list[str]:
        return tab.page.locator("main table tbody tr td:first-child").all_inner_texts()

    def offset_page(n: int) -> list[str]:
        # LiteLLM's /key/list page numbers (OFFSET) on the data plane: the same order.
        with dp.http() as h:
            r = h.get("/key/list", headers=dp.auth_headers(),
                      params={"page": n, "size": 50, "return_full_object": "true"})
            assert r.status_code == 200, r.text
            return [k["key_alias"] for k in r.json()["keys"]]

    def click(label: str, heading_page: int) -> str:
        before = len(tab.api_requests("keys"))
        tab.page.click(f"nav.pager button:text('{label}')")
        tab.page.wait_for_selector(f"nav.pager:has-text('Page {heading_page} of 100')")
        tab.wait_ready("Keys")
        lists = tab.api_requests("keys")
        assert len(lists) == before + 1, lists
        return lists[-1]

    assert shown() == offset_page(1)
    # Keyset pages: each one request with the cursor of the page it came from, the same keys
    # as the page numbers give (every key here has the same created_at: the token decides).
    assert "after=" in click("Next →", 2)
    assert shown() == offset_page(2)
    assert "after=" in click("Next →", 3)
    assert shown() == offset_page(3)
    assert "before=" in click("← Previous", 2)
    assert shown() == offset_page(2)
    tab.shot("keys-5000")
    first = click("← Previous", 1)
    assert "after=" not in first and "before=" not in first, first
    assert shown() == offset_page(1)
    assert tab.page.locator("nav.pager button:text('← Previous')").is_disabled()
    assert tab.console_errors == []
    # A cursor the list did not write, and a page number, are refused saying what to pass
    # (requests of the test's own, whose 400s the browser logs).
    for query, words in (("after=nope", "is not a cursor from this list"), ("page=3", "pages by cursor")):
        status, message = tab.page.evaluate("""async q => {
            const r = await fetch('api/keys?' + q);
            return [r.status, (await r.json()).error.message];
        }""", query)
        assert status == 400 and words in message, (status, message)
