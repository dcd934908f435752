"""What a model costs and takes, end to end: prompt tokens a provider read from its cache
are charged at the cached-input price (built-in table, price file, or the deployment's
own `cache_read_input_token_cost`); `/model/info` shows prices and limits without a
secret; `enable_pre_call_checks` sends a prompt too long for a deployment elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from components import bedrock_deployment, spend_row
from expect import assert_applied, expected_completion_tokens, expected_prompt_tokens
from harness import wait_until

PICOS = 10**12
DELIVERY_TIMEOUT = 20.0


def _dep(mock, name: str, model: str, *, api_base: str | None = None, info: dict | None = None, **params: Any) -> dict:
    entry = {
        "model_name": name,
        "litellm_params": {
            "model": model,
            "api_base": api_base or mock.api_base,
            "api_key": "os.environ/MOCK_PROVIDER_KEY",
            **params,
        },
    }
    if info is not None:
        entry["model_info"] = info
    return entry


def _charged(db_url: str, call_id: str) -> dict:
    """The cached tokens and spend of one request's spend_logs row, once delivered."""
    row = wait_until(lambda: spend_row(db_url, call_id), timeout=DELIVERY_TIMEOUT, desc=f"the record of {call_id}")
    return {"cached_tokens": row["cached_tokens"], "spend_picos": row["spend_picos"]}


def _cost(text: str, cached: int, price: tuple[int, int, int], *, prompt: int | None = None) -> int:
    """The mock's token counts for an echo of ``text``, charged at (input, output, cached) picodollars."""
    prompt = expected_prompt_tokens([{"role": "user", "content": text}]) if prompt is None else prompt
    completion = expected_completion_tokens(f"Echo: {text}")
    return (prompt - cached) * price[0] + cached * price[2] + completion * price[1]


# --------------------------------------------------------------- cached input price

OWN = (1_000_000, 2_000_000, 100_000)  # 1e-6, 2e-6, 1e-7 USD per token
GPT_4O = (2_500_000, 10_000_000, 1_250_000)  # the built-in table's gpt-4o
CLAUDE_SONNET = (3_000_000, 15_000_000, 300_000)  # the built-in table's claude-3-5-sonnet


def test_cached_prompt_tokens_are_charged_at_the_cache_price(cluster, mock_provider, pg_url):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [
                # The mock reports n prompt tokens as cached for a model named `…cached-<n>`.
                _dep(mock_provider, "own", "openai/gpt-4o-cached-3", input_cost_per_token=1e-6,
                     output_cost_per_token=2e-6, cache_read_input_token_cost=1e-7),
                _dep(mock_provider, "table", "openai/gpt-4o-cached-4"),
                _dep(mock_provider, "claude", "anthropic/claude-3-5-sonnet-cached-2", api_base=mock_provider.url),
                # A Bedrock Claude id finds Anthropic's card.
                bedrock_deployment(mock_provider, "bedrock", "us.anthropic.claude-3-5-sonnet-cached-5-v2:0"),
                # Custom pricing without a cache price: cached tokens cost the input price.
                _dep(mock_provider, "plain", "openai/gpt-4o-cached-3", input_cost_per_token=1e-6,
                     output_cost_per_token=2e-6),
            ],
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()
    text = "how much is a cached prompt"

    for model, cached, price in (("own", 3, OWN), ("table", 4, GPT_4O), ("plain", 3, (*OWN[:2], OWN[0]))):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": text}])
        resp = raw.parse()
        assert resp.usage.prompt_tokens_details.cached_tokens == cached, model
        expected = _cost(text, cached, price)
        assert float(raw.headers["x-litellm-response-cost"]) == expected / PICOS, model
        row = _charged(pg_url, raw.headers["x-litellm-call-id"])
        assert row == {"cached_tokens": cached, "spend_picos": expected}, model

    # Streamed, usage from the provider's last chunk: the same charge.
    raw = client.chat.completions.with_raw_response.create(
        model="own", messages=[{"role": "user", "content": text}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(raw.parse())
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 3
    row = _charged(pg_url, raw.headers["x-litellm-call-id"])
    assert row == {"cached_tokens": 3, "spend_picos": _cost(text, 3, OWN)}

    # Anthropic and Bedrock report cache reads apart from input tokens; both are prompt tokens.
    for model, cached in (("claude", 2), ("bedrock", 5)):
        for stream in (False, True):
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": text}], stream=stream
            )
            if stream:
                list(raw.parse())
            else:
                assert raw.parse().usage.prompt_tokens_details.cached_tokens == cached, model
            row = _charged(pg_url, raw.headers["x-litellm-call-id"])
            assert row == {"cached_tokens": cached, "spend_picos": _cost(text, cached, CLAUDE_SONNET)}, (model, stream)


# ------------------------------------------------------------------- /model/info

PRICE_FILE = {
    "my-finetune-cached-2": {
        "input_cost_per_token": 3e-06,
        "output_cost_per_token": 4e-06,
        "cache_read_input_token_cost": 1.5e-06,
        "max_input_tokens": 4096,
        "max_output_tokens": 512,
        "litellm_provider": "openai",
        "mode": "chat",
    },
}


def test_model_info_shows_prices_and_limits_and_no_secret(cluster, mock_provider, pg_url, tmp_path: Path):
    prices = tmp_path / "model_prices_and_context_window.json"
    prices.write_text(json.dumps(PRICE_FILE))
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [
                _dep(mock_provider, "ft", "openai/my-finetune-cached-2", info={"id": "ft-1"}),
                _dep(mock_provider, "mini", "openai/gpt-4o-mini", info={"id": "mini-1", "max_input_tokens": 1000,
                                                                       "team": "search"},
                     extra_headers={"x-upstream-token": "sk-header-secret"}),
            ],
            "litellm_settings": {"model_cost_map": str(prices)},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    with dp.http() as h:
        r = h.get("/model/info", headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        assert c.provider_key not in r.text and "sk-header-secret" not in r.text
        assert "api_key" not in r.text and "extra_headers" not in r.text
        data = {m["model_info"]["id"]: m for m in r.json()["data"]}
        assert set(data) == {"ft-1", "mini-1"}

        ft = data["ft-1"]
        assert ft["model_name"] == "ft"
        assert ft["litellm_params"] == {"model": "openai/my-finetune-cached-2", "api_base": mock_provider.api_base,
                                        "input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06,
                                        "cache_read_input_token_cost": 1.5e-06}
        info = ft["model_info"]
        assert (info["input_cost_per_token"], info["output_cost_per_token"], info["cache_read_input_token_cost"]) == (
            3e-06, 4e-06, 1.5e-06)
        assert (info["max_input_tokens"], info["max_output_tokens"], info["max_tokens"]) == (4096, 512, 512)
        assert (info["litellm_provider"], info["cost_known"]) == ("openai", True)

        # The built-in table's card, under the deployment's own context window.
        mini = data["mini-1"]["model_info"]
        assert (mini["input_cost_per_token"], mini["cache_read_input_token_cost"]) == (1.5e-07, 7.5e-08)
        assert (mini["max_input_tokens"], mini["max_output_tokens"], mini["team"]) == (1000, 16384, "search")

        # One deployment by id; a key sees only the models it may use.
        r = h.get("/v1/model/info", params={"litellm_model_id": "mini-1"}, headers=dp.auth_headers())
        assert [m["model_info"]["id"] for m in r.json()["data"]] == ["mini-1"]
        r = h.post("/key/generate", json={"models": ["ft"]}, headers=dp.auth_headers())
        assert_applied(r, 1)
        key = r.json()["key"]
        r = h.get("/model/info", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert [m["model_info"]["id"] for m in r.json()["data"]] == ["ft-1"]
        r = h.get("/model/info")
        assert r.status_code == 401 and r.json()["error"]["type"] == "auth_error", r.text

    # The price file's cache price is what a cached prompt costs.
    text = "priced by the file"
    raw = dp.openai_client().chat.completions.with_raw_response.create(model="ft", messages=[{"role": "user", "content": text}])
    expected = _cost(text, 2, (3_000_000, 4_000_000, 1_500_000))
    assert float(raw.headers["x-litellm-response-cost"]) == expected / PICOS
    row = _charged(pg_url, raw.headers["x-litellm-call-id"])
    assert row == {"cached_tokens": 2, "spend_picos": expected}


# ------------------------------------------------------------- pre-call checks

LONG = " ".join(["word"] * 60)


def test_pre_call_checks_send_a_prompt_too_long_for_a_deployment_elsewhere(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(
        {
            "model_list": [
                _dep(mock_provider, "small", "openai/gpt-4o-mini", info={"id": "small-1", "max_input_tokens": 30}),
                _dep(mock_provider, "large", "openai/gpt-4o", info={"id": "large-1"}),
                _dep(mock_provider, "tight", "openai/gpt-4o-mini", info={"id": "tight-1", "max_input_tokens": 5}),
            ],
            "router_settings": {"enable_pre_call_checks": True, "context_window_fallbacks": [{"small": ["large"]}]},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()

    raw = client.chat.completions.with_raw_response.create(model="small", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-litellm-model-id"] == "small-1"

    mock_provider.clear()
    raw = client.chat.completions.with_raw_response.create(model="small", messages=[{"role": "user", "content": LONG}])
    assert raw.headers["x-litellm-model-id"] == "large-1"
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert [r["body"]["model"] for r in mock_provider.chat_requests()] == ["gpt-4o"], "gpt-4o-mini never called"

    mock_provider.clear()
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="tight", messages=[{"role": "user", "content": LONG}])
    body = err.value.body
    assert body["code"] == "context_length_exceeded" and body["type"] == "invalid_request_error"
    assert "tight" in body["message"] and "5 tokens" in body["message"], body
    assert mock_provider.chat_requests() == []
