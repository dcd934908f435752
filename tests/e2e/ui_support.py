"""Browser plumbing for the dashboard tests (``test_ui_*.py``): Debian's Chromium driven by
Playwright for Python through ``executable_path`` (never ``playwright install``), one
browser per session, and per test a page that records console errors, every request it
made, and any request that tried to leave the origin (aborted and counted)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import REPO_ROOT


CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO_ROOT / "target" / "ui-shots"
LOOPBACK = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (tests/requirements.txt)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (see .ci/run)", pytrace=False)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()


@dataclass
class Tab:
    """One page in a fresh browser context, with what it did."""

    page: Any
    context: Any
    origin: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)

    def api_requests(self, path: str) -> list[str]:
        """Requests the page made to ``…/ui/api/<path>`` (query string ignored)."""
        return [u for u in self.requests if u.split("?")[0].endswith("/ui/api/" + path)]

    def login(self, password: str, username: str = "admin") -> None:
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("form.login-card button[type=submit]")
        self.page.wait_for_selector("nav.sidebar")

    def goto(self, hash_route: str, heading: str) -> None:
        self.page.evaluate("h => { location.hash = h }", hash_route)
        self.wait_ready(heading)

    def wait_ready(self, heading: str) -> None:
        """The page has rendered every widget with its data (the view marks itself ready)."""
        self.page.wait_for_selector(f"main .view[data-ready] h1:text-is('{heading}')")

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def tile(self, name: str) -> str:
        return self.page.locator(f"[data-tile='{name}']").get_attribute("data-value") or ""


def open_tab(browser: Any, origin: str, path: str = "/ui/") -> Tab:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=origin)
    page = context.new_page()
    tab = Tab(page=page, context=context, origin=origin)

    def route(r: Any) -> None:
        if LOOPBACK.match(r.request.url) and r.request.url.startswith(origin):
            r.continue_()
        else:
            tab.escaped.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("request", lambda req: tab.requests.append(req.url))
    page.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    page.goto(origin + path)
    page.wait_for_selector("#app:not(.booting)")
    return tab


def wait_for_spend_logs(db_url: str, count: int) -> None:
    """Usage records reach the database asynchronously (batched by each data plane)."""
    from components import spend_log_stats
    from harness import wait_until

    wait_until(
        lambda: (spend_log_stats(db_url) or (0, 0))[0] >= count,
        timeout=20.0,
        desc=f"{count} spend log rows",
    )
