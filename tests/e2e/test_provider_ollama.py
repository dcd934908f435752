"""Ollama (`ollama/` and `ollama_chat/` models): OpenAI requests translated to
Ollama's native `/api/chat` and its JSON / NDJSON answers translated back."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from expect import assert_openai_error, assert_stream_shape, assert_usage, collect_stream

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def ollama_config(c, mock) -> dict[str, Any]:
    def deployment(name: str, model: str) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": model, "api_base": mock.url}}

    return {
        "model_list": [
            deployment("llama", "ollama_chat/llama3.2"),
            deployment("llama-generate-prefix", "ollama/llama3.2"),
            deployment("llama-rate-limited", "ollama/mock-429"),
            deployment("llama-context", "ollama/mock-context-length"),
        ],
        "general_settings": {"master_key": c.master_key},
    }


@pytest.fixture
def ollama(cluster, mock_provider):
    c = cluster(data_planes=1, start=False)
    c.write_config(ollama_config(c, mock_provider))
    c.cp.start()
    c.add_data_plane()
    return c


def ollama_requests(mock) -> list[dict[str, Any]]:
    return [r for r in mock.requests() if r["path"].startswith("/api/")]


def test_chat_streamed_and_not_through_api_chat(ollama, mock_provider):
    client = ollama.dps[0].openai_client()

    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello there llama"}]
    reply = "Echo: hello there llama"
    for model in ("llama", "llama-generate-prefix"):
        resp = client.chat.completions.create(
            model=model, messages=messages, temperature=0.1, max_tokens=64, seed=1, stop="END"
        )
        assert resp.object == "chat.completion"
        assert resp.model == model
        choice = resp.choices[0]
        assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", reply, "stop")
        assert_usage(resp.usage, messages, reply)

    stream_messages = [{"role": "user", "content": "stream me some words please"}]
    stream_reply = "Echo: stream me some words please"
    collected = collect_stream(client.chat.completions.create(model="llama", messages=stream_messages, stream=True))
    assert_stream_shape(collected, reply=stream_reply, include_usage=False)
    assert collected.content_chunks == len(stream_reply.split()), "each NDJSON line is forwarded as its own chunk"

    collected = collect_stream(
        client.chat.completions.create(
            model="llama", messages=stream_messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert_stream_shape(collected, reply=stream_reply, include_usage=True)
    assert_usage(collected.usage_chunks[0].usage, stream_messages, stream_reply)

    sent = ollama_requests(mock_provider)
    assert [r["path"] for r in sent] == ["/api/chat"] * 4, "both prefixes use /api/chat"
    assert "authorization" not in sent[0]["headers"], "no api_key configured: no auth header"
    assert sent[0]["body"] == {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello there llama"}],
        "options": {"temperature": 0.1, "num_predict": 64, "seed": 1, "stop": ["END"]},
        "stream": False,
    }
    assert sent[2]["body"] == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "stream me some words please"}],
        "stream": True,
    }


def test_tool_calls_images_and_json_mode(ollama, mock_provider):
    client = ollama.dps[0].openai_client()
    ask = [{"role": "user", "content": "what is the weather in Paris?"}]

    resp = client.chat.completions.create(model="llama", messages=ask, tools=[WEATHER_TOOL])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}, "object arguments become a JSON string"

    assembled: dict[int, dict[str, str]] = {}
    finishes = []
    for chunk in client.chat.completions.create(model="llama", messages=ask, tools=[WEATHER_TOOL], stream=True):
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                entry = assembled.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += tc.id or ""
                entry["name"] += (tc.function.name or "") if tc.function else ""
                entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
            if ch.finish_reason:
                finishes.append(ch.finish_reason)
    assert finishes == ["tool_calls"]
    assert assembled == {0: {"id": "call_0", "name": "get_weather", "arguments": '{"city":"Paris"}'}}

    follow_up = [
        *ask,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
    ]
    resp = client.chat.completions.create(model="llama", messages=follow_up)
    assert resp.choices[0].message.content == "Echo: what is the weather in Paris?"

    content = [
        {"type": "text", "text": "describe this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    resp = client.chat.completions.create(model="llama", messages=[{"role": "user", "content": content}])
    assert resp.choices[0].message.content == "Echo: describe this"

    resp = client.chat.completions.create(
        model="llama", messages=[{"role": "user", "content": "json please"}], response_format={"type": "json_object"}
    )
    assert json.loads(resp.choices[0].message.content) == {"echo": "Echo: json please"}

    # An image by URL cannot be sent to Ollama: 400 before any call.
    before = len(ollama_requests(mock_provider))
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="llama",
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}
            ],
        )
    assert exc.value.param == "messages"
    assert len(ollama_requests(mock_provider)) == before

    sent = ollama_requests(mock_provider)
    assert sent[0]["body"]["tools"] == [WEATHER_TOOL]
    assert sent[2]["body"]["messages"] == [
        {"role": "user", "content": "what is the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    assert sent[3]["body"]["messages"] == [{"role": "user", "content": "describe this", "images": ["iVBORw0KGgo="]}]
    assert sent[4]["body"]["format"] == "json"


def test_errors_map_to_openai_classes(ollama, mock_provider):
    client = ollama.dps[0].openai_client()
    messages = [{"role": "user", "content": "hello"}]

    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="llama-rate-limited", messages=messages)
    assert exc.value.response.headers.get("retry-after") == "1"
    assert_openai_error(exc.value.response, 429, type="rate_limit_error")

    with pytest.raises(openai.BadRequestError) as exc:
        for _ in client.chat.completions.create(model="llama-context", messages=messages, stream=True):
            pass
    assert exc.value.code == "context_length_exceeded"
    assert "exceeds the context length" in assert_openai_error(exc.value.response, 400)["message"]

    mock_provider.add_fault("llama3.2", 404, 1)  # a model that is not pulled
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="llama", messages=messages)
    err = assert_openai_error(exc.value.response, 404, type="not_found_error")
    assert "not found, try pulling it first" in err["message"]

    # Ollama behind an authenticating proxy: its 401 stays a 401.
    mock_provider.add_fault("llama3.2", 401, 1)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="llama", messages=messages)
    assert_openai_error(exc.value.response, 401)
