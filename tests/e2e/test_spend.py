"""Exact spend: every request's cost, in the response header, the spend log and the key's total."""

from __future__ import annotations

from typing import Any

from components import pg_connect
from expect import assert_applied, expected_completion_tokens, expected_prompt_tokens
from harness import wait_until

PICOS = 10**12
# Deployment prices in picodollars per token (config: USD per token).
CUSTOM = (1_000_000, 2_000_000)  # input_cost_per_token 1e-6, output 2e-6
BUILTIN = (150_000, 600_000)  # gpt-4o-mini list price: $0.15 / $0.60 per million


def config(c, mock) -> dict[str, Any]:
    def dep(name: str, model: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY", **params},
        }

    return {
        "model_list": [
            dep("custom", "openai/some-model", input_cost_per_token=1e-6, output_cost_per_token=2e-6),
            dep("builtin", "openai/gpt-4o-mini-2024-07-18"),
            dep("unpriced", "openai/my-finetune"),
        ],
        "general_settings": {"master_key": c.master_key},
    }


def cost(price: tuple[int, int], text: str) -> int:
    messages = [{"role": "user", "content": text}]
    prompt = expected_prompt_tokens(messages)
    completion = expected_completion_tokens(f"Echo: {text}")
    return prompt * price[0] + completion * price[1]


def test_spend_is_exact_per_request_and_per_key(cluster, mock_provider, pg_url):
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock_provider))
    c.cp.start()
    dp1, dp2 = c.add_data_plane(), c.add_data_plane()
    with dp1.http() as h:
        generated = h.post("/key/generate", json={}, headers=dp1.auth_headers())
    # In force on both data planes when it returns: the traffic below alternates between them.
    assert_applied(generated, 2)
    key = generated.json()["key"]

    expected_picos = 0
    expected_rows = 0
    for i in range(12):
        dp = (dp1, dp2)[i % 2]
        model, price = (("custom", CUSTOM), ("builtin", BUILTIN))[i % 3 == 0]
        text = f"request number {i} " + "word " * i
        client = dp.openai_client(api_key=key)
        if i % 4 == 0:
            # Streamed without include_usage: the client sees no usage chunk,
            # but the provider was asked for one and the request is billed.
            chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}], stream=True))
            assert all(getattr(ch, "usage", None) is None for ch in chunks)
            assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == f"Echo: {text}"
        elif i % 4 == 1:
            chunks = list(
                client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": text}], stream=True, stream_options={"include_usage": True}
                )
            )
            assert chunks[-1].usage is not None and chunks[-1].choices == []
        else:
            raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": text}])
            # Both sides divide the same integer by 10^12: exact equality.
            assert float(raw.headers["x-litellm-response-cost"]) == cost(price, text) / PICOS
        expected_picos += cost(price, text)
        expected_rows += 1
    # The upstream was asked for usage on every stream.
    streams = [r for r in mock_provider.chat_requests() if r["body"].get("stream")]
    assert streams and all(r["body"]["stream_options"]["include_usage"] is True for r in streams)

    unpriced = dp1.openai_client(api_key=key).chat.completions.create(model="unpriced", messages=[{"role": "user", "content": "x"}])
    assert unpriced.choices[0].message.content == "Echo: x"

    def stored() -> tuple[int, int, int] | None:
        with pg_connect(pg_url) as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(spend_picos), 0), count(*) FILTER (WHERE NOT cost_known) FROM spend_logs"
            ).fetchone()
        return row if row and row[0] == expected_rows + 1 else None

    rows, picos, unknown = wait_until(stored, timeout=10, desc="every request in the spend log")
    assert picos == expected_picos, f"stored {picos} != expected {expected_picos}"
    assert unknown == 1, "the unpriced model's request is flagged, not silently free"

    with dp2.http() as h:
        info = h.get("/key/info", params={"key": key}, headers=dp2.auth_headers()).json()["info"]
    assert info["spend"] == expected_picos / PICOS

    # The key's running total is the exact integer sum, not a float sum.
    with pg_connect(pg_url) as conn:
        key_total = conn.execute("SELECT spend_picos FROM virtual_keys").fetchone()
    assert key_total is not None and key_total[0] == expected_picos
