"""`tollgate --config ... --port ...`: the one-command set-up on SQLite."""

from __future__ import annotations

import secrets

import httpx
import openai
import pytest
import yaml

from expect import assert_openai_error, assert_stream_shape, collect_stream
from test_budget_rule import MAX_TOKENS, PICOS, PRICE, TEXT, cost, key_hash, refusal


def sqlite_files(root) -> list:
    found = []
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                if f.read(16) == b"SQLite format 3\x00":
                    found.append(p)
    return found


def start(launcher_factory, tmp_path, model_list: list[dict], **sections: dict):
    """The one-process gateway on a config of `model_list` (and any other top-level sections), with a fresh master key."""
    master_key = f"sk-e2e-launcher-{secrets.token_hex(8)}"
    config = {"model_list": model_list, **sections, "general_settings": {"master_key": master_key}}
    config_path = tmp_path / "litellm_config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return launcher_factory(config_path, master_key).start()


def test_single_binary_on_sqlite(launcher_factory, tmp_path):
    tg = start(
        launcher_factory,
        tmp_path,
        [{"model_name": "local-mock", "litellm_params": {"model": "openai/gpt-4o", "mock_response": "Hello from Tollgate"}}],
    )
    master_key = tg.master_key

    assert sqlite_files(tg.data_dir), f"no SQLite database under {tg.data_dir}"

    client = tg.openai_client()
    messages = [{"role": "user", "content": "hi"}]
    resp = client.chat.completions.create(model="local-mock", messages=messages)
    assert resp.choices[0].message.content == "Hello from Tollgate"
    assert resp.choices[0].message.role == "assistant"

    collected = collect_stream(client.chat.completions.create(model="local-mock", messages=messages, stream=True))
    assert_stream_shape(collected, reply="Hello from Tollgate", include_usage=False)

    assert [m.id for m in client.models.list()] == ["local-mock"]
    assert tg.model_ids("/models") == ["local-mock"]

    with pytest.raises(openai.AuthenticationError) as exc:
        tg.openai_client(api_key="sk-wrong").chat.completions.create(model="local-mock", messages=messages)
    assert exc.value.status_code == 401
    err = assert_openai_error(exc.value.response, 401)
    assert master_key not in err["message"]


def test_single_binary_enforces_a_keys_budget_in_process(launcher_factory, mock_provider, tmp_path):
    """In one process the data plane's budget exchanges call the control plane's QuotaService
    directly (no gRPC): the same rule holds. A key whose budget is one request's cost is served
    once and refused next, the refusal counting what the first request spent or reserved."""
    priced = {
        "model": "openai/some-model",
        "api_base": mock_provider.api_base,
        "api_key": "sk-e2e-upstream",
        "input_cost_per_token": PRICE[0] / PICOS,
        "output_cost_per_token": PRICE[1] / PICOS,
    }
    tg = start(
        launcher_factory, tmp_path, [{"model_name": "echo", "litellm_params": priced}], router_settings={"num_retries": 0}
    )
    with tg.http() as h:
        r = h.post("/key/generate", json={"max_budget": cost() / PICOS}, headers=tg.auth_headers())
        assert r.status_code == 200, r.text
        assert r.headers.get("x-tollgate-applied") == "1/1", r.headers
        key = r.json()["key"]

        def chat() -> httpx.Response:
            return h.post(
                "/v1/chat/completions",
                json={"model": "echo", "messages": [{"role": "user", "content": TEXT}], "max_tokens": MAX_TOKENS},
                headers={"Authorization": f"Bearer {key}"},
            )

        first = chat()
        assert first.status_code == 200, first.text
        spend, reserved, limit = refusal(chat(), f"Key={key_hash(key)}")
        assert limit == cost() and spend + reserved == cost(), (spend, reserved)
