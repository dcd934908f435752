"""Fleet & settings in a real Chromium: the config in force is shown as loaded, with every secret
redacted (the master key, provider keys from the environment or written in the file,
environment_variables, credentials in URLs) and nothing secret anywhere in the page; a broken
edit shows its load error, the status API's text exactly, while the last config that loaded
stays shown as the one in force."""

from __future__ import annotations

import copy
import json
from typing import Any

from components import default_config
from harness import wait_until
from ui_support import Tab, open_tab

LITERAL_KEY = "literal-provider-secret-0123456789"
ENV_SECRET = "env-section-secret-value-42"
URL_PASSWORD = "hunter2-url-password"


def config(c: Any) -> dict[str, Any]:
    cfg = default_config(c.mock, c.master_key)
    cfg["model_list"].append({
        "model_name": "written-key",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": LITERAL_KEY, "max_tokens": 64,
                           "api_base": f"http://probe:{URL_PASSWORD}@127.0.0.1:9/v1?api-key=q"},
    })
    cfg["environment_variables"] = {"SOME_SERVICE_TOKEN": ENV_SECRET}
    cfg["router_settings"] = {"num_retries": 2}
    return cfg


def effective(tab: Tab) -> dict[str, Any]:
    return json.loads(tab.page.locator("#effective-config").inner_text())


def test_fleet_shows_the_config_in_force_redacted_and_the_last_load_error(cluster: Any, browser: Any) -> None:
    c = cluster(data_planes=1, config=config)
    good = copy.deepcopy(c.config)
    tab = open_tab(browser, c.dps[0].base_url)
    tab.login(c.master_key)
    tab.goto("#/fleet", "Fleet & settings")
    assert tab.page.locator("#config-error").count() == 0
    shown = effective(tab)
    assert [m["model_name"] for m in shown["model_list"]] == [m["model_name"] for m in good["model_list"]]
    written = shown["model_list"][-1]["litellm_params"]
    assert written == {"model": "openai/gpt-4o-mini", "api_key": "<redacted>", "max_tokens": 64,
                       "api_base": "http://127.0.0.1:9/v1"}
    # A key from the environment is resolved at load, and redacted all the same.
    assert {m["litellm_params"].get("api_key") for m in shown["model_list"][:1]} == {"<redacted>"}
    assert shown["general_settings"]["master_key"] == "<redacted>"
    assert shown["environment_variables"] == {"SOME_SERVICE_TOKEN": "<redacted>"}
    assert shown["router_settings"] == {"num_retries": 2}
    page = tab.page.content()
    for secret in (c.master_key, c.provider_key, LITERAL_KEY, ENV_SECRET, URL_PASSWORD, "api-key=q"):
        assert secret not in page, secret
    tab.shot("fleet-config")

    # A broken edit: its error shown as the status API has it, the last good config kept.
    c.write_config("model_list:\n  - model_name: broken\n    litellm_params: {model: [unclosed\n")
    status = wait_until(lambda: (s := c.cp.status())["config"]["last_error"] and s, timeout=10.0,
                        desc="the broken edit's load error")
    tab.goto("#/overview", "Overview")
    tab.goto("#/fleet", "Fleet & settings")
    error = tab.page.locator("#config-error")
    assert status["config"]["last_error"] in error.inner_text()
    assert "stays in force" in error.inner_text()
    assert [m["model_name"] for m in effective(tab)["model_list"]] == [m["model_name"] for m in good["model_list"]]
    tab.shot("fleet-config-error")
    assert tab.escaped == []
    assert tab.console_errors == []
