"""The dashboard on the one-command launcher (control plane on SQLite, data plane in the same
process): the hourly rollup is kept on SQLite as on PostgreSQL, so the Overview shows what
the openai SDK sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness import wait_until
from ui_support import open_tab


def test_the_overview_counts_requests_on_sqlite(launcher_factory: Any, browser: Any, tmp_path: Path) -> None:
    master = "sk-ui-sqlite-master"
    config = tmp_path / "litellm_config.yaml"
    config.write_text(yaml.safe_dump({
        "model_list": [{"model_name": "local-mock", "litellm_params": {"model": "openai/gpt-4o", "mock_response": "hi"}}],
        "general_settings": {"master_key": master},
    }))
    gw = launcher_factory(config, master).start()
    for _ in range(3):
        gw.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "hi"}])
    tab = open_tab(browser, gw.base_url)
    tab.login(master)
    tab.wait_ready("Overview")

    # Usage reaches the database asynchronously: reload the Overview until it is there.
    def counted() -> bool:
        tab.page.reload()
        tab.wait_ready("Overview")
        return tab.tile("requests") == "3"

    wait_until(counted, timeout=20.0, interval=0.3, desc="3 requests on the Overview")
    assert tab.tile("fleet") == "1"
    top = tab.page.locator("section.card:has(h2:text('Top models')) tbody tr")
    assert top.locator("td").first.inner_text() == "local-mock"
    tab.shot("overview-sqlite")
    assert tab.console_errors == []
