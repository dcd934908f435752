"""Helpers shared by the router's end-to-end tests (test_router_*.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness import http_client, wait_until

MSG = [{"role": "user", "content": "route me"}]
KEY = "os.environ/MOCK_PROVIDER_KEY"


def deployment(name: str, model: str, mock, dep_id: str | None = None, **params: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_name": name,
        "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": KEY, **params},
    }
    if dep_id:
        entry["model_info"] = {"id": dep_id}
    return entry


def start(cluster, models: list[dict[str, Any]], router_settings: dict[str, Any], general_settings: dict[str, Any] | None = None):
    """A control plane and one data plane serving ``models``."""
    c = cluster(data_planes=1, start=False)
    c.write_config(
        {
            "model_list": models,
            "router_settings": router_settings,
            "general_settings": {"master_key": c.master_key, **(general_settings or {})},
        }
    )
    c.cp.start()
    return c.add_data_plane()


def post(dp, body: dict[str, Any], path: str = "/v1/chat/completions") -> httpx.Response:
    with dp.http(timeout=30) as h:
        return h.post(path, json=body, headers=dp.auth_headers())


def chat(dp, model: str, **extra: Any) -> httpx.Response:
    return post(dp, {"model": model, "messages": MSG, **extra})


def add_fault(mock, model: str, status: int, times: int = 1, retry_after: int | None = None, delay_ms: int | None = None) -> None:
    rule: dict[str, Any] = {"model": model, "status": status, "times": times}
    if retry_after is not None:
        rule["retry_after"] = retry_after
    if delay_ms is not None:
        rule["delay_ms"] = delay_ms
    with http_client() as h:
        h.post(f"{mock.url}/__mock/faults", json=rule).raise_for_status()


def clear_faults(mock) -> None:
    with http_client() as h:
        h.delete(f"{mock.url}/__mock/faults").raise_for_status()


@pytest.fixture
def faults(mock_provider) -> Iterator[Any]:
    """The session's mock provider with no scripted faults before or after the test."""
    clear_faults(mock_provider)
    yield mock_provider
    clear_faults(mock_provider)


def upstream_models(mock, path_suffix: str = "/chat/completions") -> list[str]:
    return [r["body"]["model"] for r in mock.requests() if r["path"].endswith(path_suffix)]


def client_requests(mock, model: str) -> list[dict[str, Any]]:
    """Chat requests for ``model`` that came from a client (not a health probe, which says "ping")."""
    return [
        r
        for r in mock.chat_requests()
        if r["body"]["model"] == model and r["body"]["messages"][-1]["content"] != "ping"
    ]


def early_in_the_minute(before_second: int = 40) -> None:
    """Deployment rpm/tpm count per wall-clock minute: start a test that must
    stay within one minute early enough in it."""
    wait_until(lambda: time.time() % 60 < before_second, timeout=65, interval=0.2, desc="an early second of the minute")
