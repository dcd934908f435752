"""Bedrock's streamed pass-through: ``/bedrock/model/{id}/invoke-with-response-stream`` and
``/converse-stream`` answer AWS's binary event stream, which Tollgate relays untouched while
reading the usage out of its frames — InvokeModel's ``chunk`` events carry the Anthropic
events base64-encoded, ConverseStream ends with a ``metadata`` event — so a streamed
pass-through is charged exactly, not $0. Also a refused key, a budget refusal and a
fallback (the model in the path becomes the fallback deployment's)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import eventstream
from components import bedrock_deployment
from expect import assert_openai_error
from messages_support import PICOS, PRICE, cost, mock_input_tokens, new_key, row, words

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_PATH = "anthropic.claude-3-haiku-20240307-v1%3A0"
# The mock reports 2 prompt tokens read from the cache and 3 written to it.
CACHED = "anthropic.claude-3-haiku-cached-2-cachewrite-3-v1:0"
CACHED_PATH = "anthropic.claude-3-haiku-cached-2-cachewrite-3-v1%3A0"
MESSAGES = [{"role": "user", "content": "hello there streamed bedrock"}]
REPLY = "Echo: hello there streamed bedrock"
EVENTSTREAM = "application/vnd.amazon.eventstream"
PRICES = {
    "input_cost_per_token": PRICE[0] / PICOS,
    "output_cost_per_token": PRICE[1] / PICOS,
    "cache_read_input_token_cost": PRICE[2] / PICOS,
    "cache_creation_input_token_cost": PRICE[3] / PICOS,
}


@pytest.fixture
def c(cluster, mock_provider):
    m = mock_provider
    return cluster(
        data_planes=1,
        config=lambda c: {
            "model_list": [
                bedrock_deployment(m, "haiku", HAIKU, **PRICES),
                bedrock_deployment(m, "haiku-cached", CACHED, **PRICES),
                bedrock_deployment(m, "bedrock-500", "mock-500", **PRICES),
            ],
            "router_settings": {"num_retries": 0, "fallbacks": [{"bedrock-500": ["haiku"]}]},
            "general_settings": {"master_key": c.master_key},
        },
    )


def invoke_body(**extra: Any) -> dict[str, Any]:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": MESSAGES, **extra}


def fetch(dp, key: str, path: str, body: dict[str, Any]) -> tuple[Any, bytes]:
    with dp.http() as h:
        with h.stream("POST", path, json=body, headers={"Authorization": f"Bearer {key}"}) as r:
            data = b"".join(r.iter_raw())
    return r, data


def bedrock_requests(mock) -> list[dict[str, Any]]:
    return [q for q in mock.requests() if q["path"].startswith("/model/")]


def test_invoke_with_response_stream_is_relayed_and_charged(c, mock_provider, pg_url):
    dp = c.dps[0]
    key = new_key(c)
    r, data = fetch(dp, key, f"/bedrock/model/{HAIKU_PATH}/invoke-with-response-stream", invoke_body())
    assert r.status_code == 200, data
    assert r.headers["content-type"] == EVENTSTREAM
    # The client gets Bedrock's frames, checksums intact: chunk events whose bytes are
    # the Anthropic events.
    frames = eventstream.decode(data)
    assert {f.headers[":event-type"] for f in frames} == {"chunk"}
    events = [f.chunk_event() for f in frames]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == REPLY
    assert "amazon-bedrock-invocationMetrics" in events[-1]

    # SigV4 with the deployment's credentials went out, not the virtual key; the body as sent.
    [sent] = bedrock_requests(mock_provider)
    assert sent["path"] == f"/model/{HAIKU_PATH}/invoke-with-response-stream"
    assert sent["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert key not in json.dumps(sent["headers"])
    assert sent["body"] == invoke_body()

    prompt, completion = mock_input_tokens(MESSAGES), words(REPLY)
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert spent["call_type"] == "pass_through_endpoint" and spent["stream"] is True
    assert spent["model_group"] == "haiku"
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, completion)
    assert spent["spend_picos"] == cost(prompt, completion)


def test_invoke_stream_cache_reads_and_writes_at_their_prices(c, mock_provider, pg_url):
    dp = c.dps[0]
    r, data = fetch(dp, new_key(c), f"/bedrock/model/{CACHED_PATH}/invoke-with-response-stream", invoke_body())
    assert r.status_code == 200, data
    start = eventstream.decode(data)[0].chunk_event()["message"]["usage"]
    prompt = mock_input_tokens(MESSAGES)
    assert (start["cache_read_input_tokens"], start["cache_creation_input_tokens"]) == (2, 3)
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert spent["model_group"] == "haiku-cached"
    assert spent["prompt_tokens"] == prompt
    assert spent["spend_picos"] == cost(prompt - 5, words(REPLY), cache_read=2, cache_write=3)


def test_converse_stream_is_relayed_and_charged(c, mock_provider, pg_url):
    dp = c.dps[0]
    converse = {"messages": [{"role": "user", "content": [{"text": MESSAGES[0]["content"]}]}]}
    r, data = fetch(dp, new_key(c), f"/bedrock/model/{CACHED_PATH}/converse-stream", converse)
    assert r.status_code == 200, data
    assert r.headers["content-type"] == EVENTSTREAM
    frames = eventstream.decode(data)
    kinds = [f.headers[":event-type"] for f in frames]
    assert kinds[0] == "messageStart" and kinds[-1] == "metadata"
    text = "".join(f.json()["delta"]["text"] for f in frames if f.headers[":event-type"] == "contentBlockDelta")
    assert text == REPLY
    prompt = mock_input_tokens(MESSAGES)
    # Converse's inputTokens leaves the 2 cache reads out; they are charged at their price.
    assert frames[-1].json()["usage"]["inputTokens"] == prompt - 2
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert spent["stream"] is True and spent["model_group"] == "haiku-cached"
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, words(REPLY))
    assert spent["spend_picos"] == cost(prompt - 2, words(REPLY), cache_read=2)


def test_non_streamed_invoke_is_charged(c, mock_provider, pg_url):
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post(f"/bedrock/model/{HAIKU_PATH}/invoke", json=invoke_body(), headers={"Authorization": f"Bearer {new_key(c)}"})
    assert r.status_code == 200, r.text
    assert r.json()["content"][0]["text"] == REPLY
    prompt = mock_input_tokens(MESSAGES)
    assert row(pg_url, r.headers["x-litellm-call-id"])["spend_picos"] == cost(prompt, words(REPLY))


def test_refusals_budgets_and_fallbacks(c, mock_provider, pg_url):
    dp = c.dps[0]
    path = f"/bedrock/model/{HAIKU_PATH}/invoke-with-response-stream"
    with dp.http() as h:
        r = h.post(path, json=invoke_body(), headers={"Authorization": "Bearer sk-bogus"})
        assert_openai_error(r, 401)
        broke = new_key(c, max_budget=0)
        r = h.post(path, json=invoke_body(), headers={"Authorization": f"Bearer {broke}"})
        assert_openai_error(r, 429)
        assert "Budget has been exceeded" in r.json()["error"]["message"]
        limited = new_key(c, models=["haiku-cached"])
        r = h.post(path, json=invoke_body(), headers={"Authorization": f"Bearer {limited}"})
        assert_openai_error(r, 403, type="key_model_access_denied")
    assert bedrock_requests(mock_provider) == [], "nothing refused reached the provider"

    # The failing group falls back: the fallback deployment's model replaces the path's.
    r, data = fetch(dp, new_key(c), "/bedrock/model/mock-500/invoke-with-response-stream", invoke_body())
    assert r.status_code == 200, data
    assert (r.headers["x-litellm-attempted-fallbacks"], r.headers["x-litellm-model-group"]) == ("1", "haiku")
    events = [f.chunk_event() for f in eventstream.decode(data)]
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == REPLY
    assert [q["path"] for q in bedrock_requests(mock_provider)] == [
        "/model/mock-500/invoke-with-response-stream",
        f"/model/{HAIKU_PATH}/invoke-with-response-stream",
    ]
    spent = row(pg_url, r.headers["x-litellm-call-id"])
    assert spent["model_group"] == "haiku"
    assert spent["spend_picos"] == cost(mock_input_tokens(MESSAGES), words(REPLY))


def test_a_stream_that_breaks_is_charged_for_what_it_reported(c, mock_provider, pg_url):
    """The provider's stream breaks after three frames (client headers go upstream on a
    pass-through, so the mock's fault header reaches it): the client gets those frames intact,
    then a broken body; the record is a failure charged for the usage message_start reported."""
    dp = c.dps[0]
    received = b""
    with dp.http() as h:
        headers = {"Authorization": f"Bearer {new_key(c)}", "x-mock-fail-after-chunks": "3"}
        path = f"/bedrock/model/{HAIKU_PATH}/invoke-with-response-stream"
        with h.stream("POST", path, json=invoke_body(), headers=headers) as r:
            assert r.status_code == 200
            call_id = r.headers["x-litellm-call-id"]
            with pytest.raises(httpx.HTTPError):
                for piece in r.iter_raw():
                    received += piece
    events = [f.chunk_event() for f in eventstream.decode(received)]
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "ping"]
    spent = row(pg_url, call_id)
    assert (spent["status"], spent["stream"]) == ("failure", True)
    prompt = mock_input_tokens(MESSAGES)
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, 1)
    assert spent["spend_picos"] == cost(prompt, 1)
