"""Shared by the image, audio, moderation and rerank tests: a cluster whose deployments are
priced by LiteLLM's per-unit fields, keys, and the spend row of one request."""

from __future__ import annotations

from typing import Any

import httpx

from components import spend_row
from expect import assert_applied
from harness import wait_until

KEY = "os.environ/MOCK_PROVIDER_KEY"
DELIVERY = 30.0
PICOS = 10**12


def deployment(name: str, model: str, api_base: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": model, "api_base": api_base, "api_key": KEY, **params}}


def start(cluster, models: list[dict[str, Any]], fallbacks: list[dict[str, list[str]]] | None = None):
    """A control plane and two data planes serving ``models``."""
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": models,
            "router_settings": {"num_retries": 0, "fallbacks": fallbacks or []},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    c.add_data_plane()
    c.add_data_plane()
    return c


def new_key(c, **fields: Any) -> str:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/key/generate", json=fields, headers=dp.auth_headers())
    assert_applied(r, len(c.dps))
    return r.json()["key"]


def charged(pg_url: str, call_id: str) -> dict[str, Any]:
    """One request's spend_logs row, once delivered (usage reaches the database asynchronously)."""
    return wait_until(lambda: spend_row(pg_url, call_id), timeout=DELIVERY, desc=f"the record of {call_id}")


def post(dp, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else dp.auth_headers()
    with dp.http(timeout=30) as h:
        return h.post(path, headers=headers, **kwargs)
