"""`POST /v1/messages` in front of Anthropic deployments: the Anthropic SDK pointed at
Tollgate with a virtual key; the request relayed natively (checked against what the mock
received), the answer and the event stream as Anthropic sends them, count_tokens, tools,
prompt-caching usage charged at its own prices, and Anthropic's error shape."""

from __future__ import annotations

import json

import anthropic
import pytest

from messages_support import (
    CLAUDE,
    assert_anthropic_error,
    client,
    cost,
    mock_input_tokens,
    new_key,
    post,
    row,
    start,
)

SYSTEM = "You are terse."
TURNS = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "hello there claude"},
]
REPLY = "Echo: hello there claude"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def messages_sent(mock) -> list[dict]:
    return [r for r in mock.requests() if r["path"] == "/v1/messages"]


def test_message_relayed_natively_with_exact_spend(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    key = new_key(c, key_alias="claude-code")
    sdk = client(c.dps[0], key)

    raw = sdk.messages.with_raw_response.create(
        model="claude",
        max_tokens=256,
        system=SYSTEM,
        messages=TURNS,
        stop_sequences=["END"],
        metadata={"user_id": "end-user-1"},
        extra_body={"num_retries": 1, "temperature": 0.5},
    )
    msg = raw.parse()
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.id.startswith("msg_mock_")
    assert msg.model == CLAUDE, "a native answer is Anthropic's own"
    assert [(b.type, b.text) for b in msg.content] == [("text", REPLY)]
    assert msg.stop_reason == "end_turn"
    prompt = mock_input_tokens(TURNS, SYSTEM)
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (prompt, 4)
    assert raw.headers["x-litellm-model-group"] == "claude"

    # What Anthropic received: the client's body, the deployment's model and key, the
    # client's anthropic-version, LiteLLM's own `num_retries` removed.
    [sent] = messages_sent(mock_provider)
    assert sent["headers"]["x-api-key"] == c.provider_key
    assert sent["headers"]["anthropic-version"] == raw.http_request.headers["anthropic-version"]
    assert "authorization" not in sent["headers"]
    assert sent["body"] == {
        "model": CLAUDE,
        "max_tokens": 256,
        "system": SYSTEM,
        "messages": TURNS,
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "metadata": {"user_id": "end-user-1"},
    }

    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["call_type"] == "anthropic_messages"
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, 4)
    assert spent["spend_picos"] == cost(prompt, 4)
    assert spent["end_user"] == "end-user-1"
    assert spent["status"] == "success" and spent["stream"] is False
    assert float(raw.headers["x-litellm-response-cost"]) == pytest.approx(cost(prompt, 4) / 10**12)


def sse_events(dp, key: str, body: dict) -> tuple[list[tuple[str, dict]], str]:
    """The raw event stream (the SDK hides `ping`): (event name, data) pairs and the call id."""
    with dp.http() as h, h.stream("POST", "/v1/messages", json={**body, "stream": True}, headers={"x-api-key": key}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
        call_id = r.headers["x-litellm-call-id"]
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events, call_id


def test_stream_relayed_event_by_event(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    key = new_key(c)
    dp = c.dps[0]
    messages = [{"role": "user", "content": "hello there claude"}]
    prompt = mock_input_tokens(messages)
    events, call_id = sse_events(dp, key, {"model": "claude", "max_tokens": 64, "messages": messages})
    # The mock's (Anthropic's) exact sequence, each event's name its data's type.
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    assert events[-2][1]["usage"] == {"output_tokens": 4}
    spent = row(pg_url, call_id)
    assert spent["stream"] is True and spent["status"] == "success"
    assert (spent["prompt_tokens"], spent["completion_tokens"]) == (prompt, 4)
    assert spent["spend_picos"] == cost(prompt, 4)

    # The SDK's stream helper assembles the same message.
    with client(dp, key).messages.stream(model="claude", max_tokens=64, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == REPLY
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (prompt, 4)


def test_prompt_cache_reads_and_writes_are_charged_at_their_prices(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    key = new_key(c)
    sdk = client(c.dps[0], key)
    messages = [{"role": "user", "content": "a long cached prompt to reuse"}]
    prompt = mock_input_tokens(messages)  # 7: the mock reads 2 from the cache, writes 3
    raw = sdk.messages.with_raw_response.create(model="claude-cached", max_tokens=64, messages=messages)
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (prompt - 5, 2, 3)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    output = usage.output_tokens
    assert spent["spend_picos"] == cost(prompt - 5, output, cache_read=2, cache_write=3)
    assert spent["prompt_tokens"] == prompt

    # Streamed: message_start carries the cache fields, message_delta the output.
    with sdk.messages.stream(model="claude-cached", max_tokens=64, messages=messages) as stream:
        final = stream.get_final_message()
        call_id = stream.response.headers["x-litellm-call-id"]
    assert (final.usage.cache_read_input_tokens, final.usage.cache_creation_input_tokens) == (2, 3)
    assert row(pg_url, call_id)["spend_picos"] == cost(prompt - 5, final.usage.output_tokens, cache_read=2, cache_write=3)


def test_tool_use_and_tool_result_round_trip(cluster, mock_provider):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    question = [{"role": "user", "content": "what is the weather in Paris"}]
    msg = sdk.messages.create(model="claude", max_tokens=64, messages=question, tools=[WEATHER_TOOL])
    assert msg.stop_reason == "tool_use"
    [call] = [b for b in msg.content if b.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"location": "Paris"})

    followup = [
        *question,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}, {"type": "text", "text": "thanks"}]},
    ]
    answer = sdk.messages.create(
        model="claude", max_tokens=64, messages=followup, tools=[WEATHER_TOOL], tool_choice={"type": "auto"}
    )
    assert answer.content[0].text == "Echo: thanks"
    sent = messages_sent(mock_provider)[-1]["body"]
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"
    assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}
    assert sent["tool_choice"] == {"type": "auto"} and sent["tools"] == [WEATHER_TOOL]

    # Streamed tool use: the input arrives as input_json_delta fragments.
    with sdk.messages.stream(model="claude", max_tokens=64, messages=question, tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"location": "Paris"}]


def test_thinking_blocks_and_images_pass_through(cluster, mock_provider):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    msg = sdk.messages.create(
        model="claude",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is this"}, image]}],
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].signature == "mock-signature"
    sent = messages_sent(mock_provider)[-1]["body"]
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["messages"][0]["content"][1] == image


def test_count_tokens_is_answered_by_anthropic(cluster, mock_provider):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    counted = sdk.messages.count_tokens(model="claude", system=SYSTEM, messages=TURNS)
    assert counted.input_tokens == mock_input_tokens(TURNS, SYSTEM)
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/messages/count_tokens"]
    assert sent["body"] == {"model": CLAUDE, "system": SYSTEM, "messages": TURNS}
    assert sent["headers"]["x-api-key"] == c.provider_key


def test_bearer_auth_and_refusals_in_anthropic_shape(cluster, mock_provider):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    key = new_key(c, models=["claude", "claude-429"])
    body = {"model": "claude", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}

    # A bearer token works as well as x-api-key (Claude Code sends either).
    bearer = anthropic.Anthropic(base_url=dp.base_url, auth_token=key, max_retries=0)
    assert bearer.messages.create(**body).content[0].text == "Echo: hi"

    with pytest.raises(anthropic.AuthenticationError) as refused:
        client(dp, "sk-not-a-key").messages.create(**body)
    assert refused.value.status_code == 401
    assert refused.value.body["type"] == "error" and refused.value.body["error"]["type"] == "authentication_error"
    assert_anthropic_error(post(dp, "sk-not-a-key", body), 401, "authentication_error")
    with pytest.raises(anthropic.PermissionDeniedError):
        client(dp, key).messages.create(**{**body, "model": "gpt"})
    assert_anthropic_error(post(dp, key, {**body, "model": "gpt"}), 403, "permission_error")

    # Bad input: Anthropic's message, naming the field, nothing sent upstream.
    before = len(messages_sent(mock_provider))
    assert "max_tokens" in assert_anthropic_error(post(dp, key, {**body, "max_tokens": None}), 400, "invalid_request_error")
    bad_role = {**body, "messages": [{"role": "system", "content": "x"}]}
    assert "messages.0.role" in assert_anthropic_error(post(dp, key, bad_role), 400, "invalid_request_error")
    with dp.http() as h:
        r = h.post("/v1/messages", content=b"{not json", headers={"x-api-key": key})
    assert_anthropic_error(r, 400, "invalid_request_error")
    with dp.http() as h:
        assert "GET is not allowed" in assert_anthropic_error(h.get("/v1/messages", headers={"x-api-key": key}), 405, "invalid_request_error")
    open_key = new_key(c)
    unknown = assert_anthropic_error(post(dp, open_key, {**body, "model": "nope"}), 400, "invalid_request_error")
    assert "Invalid model name" in unknown, unknown
    assert len(messages_sent(mock_provider)) == before

    # The provider's own refusal keeps its status, in Anthropic's shape.
    with pytest.raises(anthropic.RateLimitError):
        client(dp, key).messages.create(**{**body, "model": "claude-429"})


def test_budget_refusal_in_anthropic_shape(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    key = new_key(c, max_budget=0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client(c.dps[0], key).messages.create(model="claude", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["error"]["type"] == "rate_limit_error"
    assert "Budget has been exceeded" in refused.value.body["error"]["message"]
    assert messages_sent(mock_provider) == []


@pytest.mark.parametrize("model", ["claude-broken", "gpt-broken"])
def test_a_stream_that_breaks_ends_with_an_error_event(cluster, mock_provider, pg_url, model):
    from messages_support import deployment

    c = start(
        cluster,
        mock_provider,
        [
            deployment(mock_provider, "claude-broken", "anthropic/mock-break-after-3"),
            deployment(mock_provider, "gpt-broken", "openai/mock-break-after-3"),
        ],
    )
    events, call_id = sse_events(c.dps[0], new_key(c), {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "one two three four five"}]})
    name, data = events[-1]
    assert name == "error", events
    assert data["type"] == "error" and data["error"]["type"] == "api_error" and data["error"]["message"]
    assert events[0][0] == "message_start"
    assert "message_stop" not in [n for n, _ in events]
    spent = row(pg_url, call_id)
    assert spent["status"] == "failure" and spent["stream"] is True
