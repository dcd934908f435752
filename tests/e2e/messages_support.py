"""What the /v1/messages tests share: the cluster (Anthropic and OpenAI-format deployments,
priced, with cache-read and cache-write prices), the mock's token rule for Anthropic
requests, the anthropic SDK client, Anthropic's error shape and spend-row lookups."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx

from components import spend_row
from expect import assert_applied
from harness import wait_until

PICOS = 10**12
# Picodollars per token: input, output, cache read, cache write.
PRICE = (1_000_000, 2_000_000, 100_000, 1_250_000)
CLAUDE = "claude-3-5-sonnet-20241022"


def deployment(mock, name: str, model: str, **params: Any) -> dict[str, Any]:
    # Anthropic's and Gemini's APIs are at the mock's root; OpenAI's under /v1.
    base = mock.url if model.startswith(("anthropic/", "gemini/")) else mock.api_base
    return {
        "model_name": name,
        "litellm_params": {
            "model": model,
            "api_base": base,
            "api_key": "os.environ/MOCK_PROVIDER_KEY",
            "input_cost_per_token": PRICE[0] / PICOS,
            "output_cost_per_token": PRICE[1] / PICOS,
            "cache_read_input_token_cost": PRICE[2] / PICOS,
            "cache_creation_input_token_cost": PRICE[3] / PICOS,
            **params,
        },
    }


def start(cluster, mock, extra: list[dict[str, Any]] | None = None, router: dict[str, Any] | None = None):
    c = cluster(data_planes=0, start=False)
    config = {
        "model_list": [
            deployment(mock, "claude", f"anthropic/{CLAUDE}"),
            deployment(mock, "claude-cached", "anthropic/claude-3-5-sonnet-cached-2-cachewrite-3"),
            deployment(mock, "claude-429", "anthropic/mock-429"),
            deployment(mock, "gpt", "openai/gpt-4o-mini"),
            # The mock answers tool calls only for models named so.
            deployment(mock, "gpt-tools", "openai/gpt-4o-mini-tool-calls"),
            deployment(mock, "gpt-cached", "openai/gpt-4o-mini-cached-2"),
            deployment(mock, "gpt-no-usage", "openai/gpt-3.5-turbo-no-usage"),
            deployment(mock, "gpt-500", "openai/mock-500"),
            *(extra or []),
        ],
        "router_settings": {"num_retries": 0, **(router or {})},
        "general_settings": {"master_key": c.master_key},
    }
    c.write_config(config)
    c.cp.start()
    c.add_data_plane()
    return c


def new_key(c, **fields: Any) -> str:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/key/generate", json=fields, headers=dp.auth_headers())
    assert_applied(r, len(c.dps))
    return r.json()["key"]


def client(dp, key: str, **kwargs: Any) -> anthropic.Anthropic:
    """The real Anthropic SDK with ``ANTHROPIC_BASE_URL`` at the gateway (x-api-key auth)."""
    return anthropic.Anthropic(base_url=dp.base_url, api_key=key, max_retries=0, timeout=15.0, **kwargs)


def words(text: str) -> int:
    return len(text.split())


def mock_input_tokens(messages: list[dict[str, Any]], system: str | None = None) -> int:
    """The mock's rule for both wire formats: words of each text + 1 per message (the system
    prompt counting as one)."""
    total = sum(words(m["content"]) + 1 for m in messages)
    return total + (words(system) + 1 if system is not None else 0)


def cost(input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0) -> int:
    """Picodollars: Anthropic's ``input_tokens`` excludes cache reads and writes."""
    return input_tokens * PRICE[0] + output_tokens * PRICE[1] + cache_read * PRICE[2] + cache_write * PRICE[3]


def row(pg_url: str, request_id: str) -> dict[str, Any]:
    return wait_until(lambda: spend_row(pg_url, request_id), timeout=20.0, interval=0.2, desc=f"spend row {request_id}")


def post(dp, key: str, body: Any, path: str = "/v1/messages", **headers: str) -> httpx.Response:
    with dp.http() as h:
        return h.post(path, json=body, headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers})


def assert_anthropic_error(r: httpx.Response, status: int, kind: str) -> str:
    """``{"type":"error","error":{"type","message"}}`` with ``status``; returns the message."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"type", "error"} and body["type"] == "error", body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["message"]
