"""The pass-through families not covered by test_passthrough.py: ``/azure`` (the ``openai``
SDK's ``AzureOpenAI`` client pointed at it), ``/mistral`` (OpenAI's wire format; the
``openai`` SDK, as no Mistral SDK is installed) and ``/cohere`` (Cohere's v2 chat over raw
httpx, as no Cohere SDK is installed). Each: a virtual key in, the deployment's credential
out (the mock records it), the body as sent, streams relayed, spend exact — and, on every
family, a refused key and a budget refusal in the route's own error shape, before anything
reaches the provider."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from components import bedrock_deployment
from expect import assert_openai_error
from messages_support import PICOS, PRICE, assert_anthropic_error, cost, deployment, mock_input_tokens, new_key, row, words

API_VERSION = "2024-06-01"
MESSAGES = [{"role": "user", "content": "hello there families"}]
REPLY = "Echo: hello there families"
PER_QUERY = 2_000_000_000  # $0.002 per search unit
PRICES = {"input_cost_per_token": PRICE[0] / PICOS, "output_cost_per_token": PRICE[1] / PICOS}


def azure(mock, name: str, azure_deployment: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"azure/{azure_deployment}",
            "api_base": mock.url,
            "api_version": API_VERSION,
            "api_key": "os.environ/MOCK_PROVIDER_KEY",
            **PRICES,
        },
    }


@pytest.fixture
def c(cluster, mock_provider):
    m = mock_provider
    return cluster(data_planes=1, config=lambda c: {
        "model_list": [
            azure(m, "gpt-azure", "my-gpt4o"),
            azure(m, "azure-500", "mock-500"),
            deployment(m, "mistral-small", "mistral/mistral-small-latest"),
            deployment(m, "mistral-500", "mistral/mock-500"),
            # Cohere's API is at the mock's root (/v2/chat).
            {"model_name": "command", "litellm_params": {"model": "cohere/command-r", "api_base": m.url, "api_key": "os.environ/MOCK_PROVIDER_KEY", **PRICES}},
            {"model_name": "rerank", "litellm_params": {"model": "cohere/rerank-v3.5", "api_base": m.url, "api_key": "os.environ/MOCK_PROVIDER_KEY", "input_cost_per_query": PER_QUERY / PICOS}},
            # The families test_passthrough.py covers, for the refusals below.
            deployment(m, "gpt", "openai/gpt-4o-mini"),
            deployment(m, "claude", "anthropic/claude-3-5-sonnet-20241022"),
            deployment(m, "flash", "gemini/gemini-2.0-flash"),
            deployment(m, "flash-500", "gemini/mock-500"),
            bedrock_deployment(m, "haiku", "anthropic.claude-3-haiku-20240307-v1:0", **PRICES),
        ],
        "router_settings": {"num_retries": 0, "fallbacks": [{"azure-500": ["gpt-azure"]}, {"mistral-500": ["mistral-small"]}, {"flash-500": ["flash"]}]},
        "general_settings": {"master_key": c.master_key},
    })  # fmt: skip


def azure_sdk(dp, key: str) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=f"{dp.base_url}/azure", api_key=key, api_version=API_VERSION, max_retries=0, timeout=15.0)


def mistral_sdk(dp, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{dp.base_url}/mistral/v1", api_key=key, max_retries=0, timeout=15.0)


def last_request(mock, suffix: str) -> dict[str, Any]:
    return [q for q in mock.requests() if q["path"].endswith(suffix)][-1]


def test_azure_openai_sdk_at_azure(c, mock_provider, pg_url):
    dp = c.dps[0]
    key = new_key(c)
    sdk = azure_sdk(dp, key)
    raw = sdk.chat.completions.with_raw_response.create(model="my-gpt4o", messages=MESSAGES, temperature=0.3)
    resp = raw.parse()
    assert resp.choices[0].message.content == REPLY
    sent = last_request(mock_provider, "/chat/completions")
    assert (sent["path"], sent["query"]) == ("/openai/deployments/my-gpt4o/chat/completions", f"api-version={API_VERSION}")
    assert sent["headers"]["api-key"] == c.provider_key and key not in json.dumps(sent["headers"])
    assert sent["body"] == {"model": "my-gpt4o", "messages": MESSAGES, "temperature": 0.3}
    prompt = mock_input_tokens(MESSAGES)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert (spent["call_type"], spent["model_group"]) == ("pass_through_endpoint", "gpt-azure")
    assert spent["spend_picos"] == cost(prompt, words(REPLY))

    with sdk.chat.completions.with_streaming_response.create(
        model="my-gpt4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as r:
        text = r.read().decode()
        call_id = r.headers["x-litellm-call-id"]
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"]) == REPLY
    assert text.endswith("data: [DONE]\n\n")
    spent = row(pg_url, call_id)
    assert spent["stream"] is True and spent["spend_picos"] == cost(prompt, words(REPLY))


def test_azure_fallback_takes_the_fallback_deployment_path(c, mock_provider, pg_url):
    dp = c.dps[0]
    raw = azure_sdk(dp, new_key(c)).chat.completions.with_raw_response.create(model="mock-500", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == REPLY
    assert (raw.headers["x-litellm-attempted-fallbacks"], raw.headers["x-litellm-model-group"]) == ("1", "gpt-azure")
    paths = [q["path"] for q in mock_provider.requests() if q["path"].startswith("/openai/deployments/")]
    assert paths == ["/openai/deployments/mock-500/chat/completions", "/openai/deployments/my-gpt4o/chat/completions"]
    assert last_request(mock_provider, "/chat/completions")["body"]["model"] == "my-gpt4o"
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["model_group"] == "gpt-azure" and spent["spend_picos"] == cost(mock_input_tokens(MESSAGES), words(REPLY))


def test_mistral_through_the_openai_sdk(c, mock_provider, pg_url):
    dp = c.dps[0]
    key = new_key(c)
    sdk = mistral_sdk(dp, key)
    raw = sdk.chat.completions.with_raw_response.create(model="mistral-small-latest", messages=MESSAGES, max_tokens=32)
    assert raw.parse().choices[0].message.content == REPLY
    sent = last_request(mock_provider, "/chat/completions")
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
    assert sent["body"] == {"model": "mistral-small-latest", "messages": MESSAGES, "max_tokens": 32}
    prompt = mock_input_tokens(MESSAGES)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["model_group"] == "mistral-small" and spent["spend_picos"] == cost(prompt, words(REPLY))

    with sdk.chat.completions.with_streaming_response.create(
        model="mistral-small-latest", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as r:
        text = r.read().decode()
        call_id = r.headers["x-litellm-call-id"]
    assert '"usage":{"prompt_tokens"' in text.replace(" ", "")
    spent = row(pg_url, call_id)
    assert spent["stream"] is True and spent["spend_picos"] == cost(prompt, words(REPLY))

    # The group's name works, and a failing group falls back.
    raw = sdk.chat.completions.with_raw_response.create(model="mistral-500", messages=MESSAGES)
    assert (raw.headers["x-litellm-attempted-fallbacks"], raw.headers["x-litellm-model-group"]) == ("1", "mistral-small")
    assert last_request(mock_provider, "/chat/completions")["body"]["model"] == "mistral-small-latest"
    assert row(pg_url, raw.headers["x-litellm-call-id"])["spend_picos"] == cost(prompt, words(REPLY))


def test_cohere_v2_chat_over_raw_http(c, mock_provider, pg_url):
    dp = c.dps[0]
    key = new_key(c)
    body = {"model": "command-r", "messages": MESSAGES}
    prompt = mock_input_tokens(MESSAGES)
    with dp.http() as h:
        r = h.post("/cohere/v2/chat", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json()["message"]["content"][0]["text"] == REPLY
        sent = last_request(mock_provider, "/v2/chat")
        assert sent["path"] == "/v2/chat" and sent["body"] == body
        assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
        spent = row(pg_url, r.headers["x-litellm-call-id"])
        # Spend is Cohere's `billed_units` (the mock's `tokens` add its prompt template).
        usage = r.json()["usage"]
        assert usage["tokens"]["input_tokens"] > usage["billed_units"]["input_tokens"] == prompt
        assert spent["model_group"] == "command" and spent["spend_picos"] == cost(prompt, words(REPLY))

        # Cohere's stream: the usage is in message-end's delta.
        with h.stream("POST", "/cohere/v2/chat", json={**body, "stream": True}, headers={"Authorization": f"Bearer {key}"}) as s:
            text = s.read().decode()
            call_id = s.headers["x-litellm-call-id"]
        events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
        assert [e["type"] for e in events][-1] == "message-end"
        assert "".join(e["delta"]["message"]["content"]["text"] for e in events if e["type"] == "content-delta") == REPLY
        spent = row(pg_url, call_id)
        assert spent["stream"] is True and spent["spend_picos"] == cost(prompt, words(REPLY))


def test_cohere_rerank_is_charged_per_search_unit(c, mock_provider, pg_url):
    dp = c.dps[0]
    body = {"model": "rerank-v3.5", "query": "quick fox", "documents": ["the fox", "a quick brown fox"]}
    with dp.http() as h:
        r = h.post("/cohere/v2/rerank", json=body, headers={"Authorization": f"Bearer {new_key(c)}"})
    assert r.status_code == 200, r.text
    units = r.json()["meta"]["billed_units"]["search_units"]
    assert units == 1
    assert last_request(mock_provider, "/v2/rerank")["body"] == body
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert (spent["model_group"], spent["spend_picos"]) == ("rerank", units * PER_QUERY), spent


def test_gemini_fallback_takes_the_fallback_model_path(c, mock_provider, pg_url):
    dp = c.dps[0]
    contents = {"contents": [{"role": "user", "parts": [{"text": "hello there families"}]}]}
    with dp.http() as h:
        r = h.post("/gemini/v1beta/models/mock-500:generateContent", json=contents, headers={"x-goog-api-key": new_key(c)})
    assert r.status_code == 200, r.text
    assert (r.headers["x-litellm-attempted-fallbacks"], r.headers["x-litellm-model-group"]) == ("1", "flash")
    paths = [q["path"] for q in mock_provider.requests() if q["path"].startswith("/v1beta/")]
    assert paths == ["/v1beta/models/mock-500:generateContent", "/v1beta/models/gemini-2.0-flash:generateContent"]
    meta = r.json()["usageMetadata"]
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert spent["model_group"] == "flash"
    assert spent["spend_picos"] == cost(meta["promptTokenCount"], meta["candidatesTokenCount"])


# Every pass-through family: (route, how a client sends its key there, a request).
FAMILIES = [
    ("/openai/v1/chat/completions", "authorization", {"model": "gpt-4o-mini", "messages": MESSAGES}),
    ("/anthropic/v1/messages", "x-api-key", {"model": "claude-3-5-sonnet-20241022", "max_tokens": 8, "messages": MESSAGES}),
    ("/gemini/v1beta/models/gemini-2.0-flash:generateContent", "x-goog-api-key", {"contents": [{"parts": [{"text": "hi"}]}]}),
    (f"/azure/openai/deployments/my-gpt4o/chat/completions?api-version={API_VERSION}", "api-key", {"messages": MESSAGES}),
    ("/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "authorization", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
    ("/mistral/v1/chat/completions", "authorization", {"model": "mistral-small-latest", "messages": MESSAGES}),
    ("/cohere/v2/chat", "authorization", {"model": "command-r", "messages": MESSAGES}),
]


def key_header(name: str, key: str) -> dict[str, str]:
    return {name: f"Bearer {key}" if name == "authorization" else key}


@pytest.mark.parametrize(("path", "header", "body"), FAMILIES, ids=[f[0].split("/")[1] for f in FAMILIES])
def test_every_family_refuses_unknown_keys_and_spent_budgets(c, mock_provider, path, header, body):
    dp = c.dps[0]
    shape = assert_anthropic_error if path.startswith("/anthropic") else None
    broke = new_key(c, max_budget=0)
    with dp.http() as h:
        refused = h.post(path, json=body, headers={**key_header(header, "sk-bogus"), "anthropic-version": "2023-06-01"})
        budget = h.post(path, json=body, headers={**key_header(header, broke), "anthropic-version": "2023-06-01"})
    if shape:
        shape(refused, 401, "authentication_error")
        assert "Budget has been exceeded" in shape(budget, 429, "rate_limit_error")
    else:
        assert_openai_error(refused, 401)
        assert "Budget has been exceeded" in assert_openai_error(budget, 429)["message"]
    assert mock_provider.requests() == [], "nothing refused reached the provider"
