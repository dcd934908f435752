"""Gemini (`gemini/` models, Google AI Studio): OpenAI requests translated to
generateContent / streamGenerateContent and the answers translated back."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from expect import assert_no_secrets, assert_openai_error, assert_stream_shape, assert_usage, collect_stream

MODEL = "gemini-2.0-flash"
SIGNATURE = "bW9jay1zaWduYXR1cmU="  # the mock's thought signature on the first call
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


def gemini_config(c, mock) -> dict[str, Any]:
    def deployment(name: str, model: str, *, key: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {"model": f"gemini/{model}", "api_base": mock.url}
        if key:
            params["api_key"] = "os.environ/MOCK_PROVIDER_KEY"
        return {"model_name": name, "litellm_params": params}

    return {
        "model_list": [
            deployment("gemini-flash", MODEL),
            deployment("gemini-rate-limited", "mock-429"),
            deployment("gemini-context", "mock-context-length"),
            deployment("gemini-policy", "mock-content-policy"),
            deployment("gemini-no-key", MODEL, key=False),
        ],
        "general_settings": {"master_key": c.master_key},
    }


@pytest.fixture
def gemini(cluster, mock_provider):
    c = cluster(data_planes=1, start=False)
    c.write_config(gemini_config(c, mock_provider))
    c.cp.start()
    c.add_data_plane()
    return c


def gemini_requests(mock) -> list[dict[str, Any]]:
    return [r for r in mock.requests() if r["path"].startswith("/v1beta/models/")]


def test_chat_streamed_and_not_in_geminis_wire_format(gemini, mock_provider):
    c = gemini
    client = c.dps[0].openai_client()

    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello there gemini"}]
    reply = "Echo: hello there gemini"
    resp = client.chat.completions.create(
        model="gemini-flash", messages=messages, temperature=0.5, max_tokens=50, stop=["END"], seed=3, user="u-1"
    )
    assert resp.object == "chat.completion"
    assert resp.model == "gemini-flash"
    assert resp.id.startswith("chatcmpl-")
    choice = resp.choices[0]
    assert (choice.index, choice.message.role, choice.message.content, choice.finish_reason) == (
        0,
        "assistant",
        reply,
        "stop",
    )
    assert_usage(resp.usage, messages, reply)

    stream_messages = [{"role": "user", "content": "stream me some words please"}]
    stream_reply = "Echo: stream me some words please"
    collected = collect_stream(
        client.chat.completions.create(model="gemini-flash", messages=stream_messages, stream=True)
    )
    assert_stream_shape(collected, reply=stream_reply, include_usage=False)
    assert collected.content_chunks == len(stream_reply.split()), "each Gemini event is forwarded as its own chunk"

    collected = collect_stream(
        client.chat.completions.create(
            model="gemini-flash", messages=stream_messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert_stream_shape(collected, reply=stream_reply, include_usage=True)
    assert_usage(collected.usage_chunks[0].usage, stream_messages, stream_reply)

    sent = gemini_requests(mock_provider)
    assert [(r["path"], r["query"]) for r in sent] == [
        (f"/v1beta/models/{MODEL}:generateContent", None),
        (f"/v1beta/models/{MODEL}:streamGenerateContent", "alt=sse"),
        (f"/v1beta/models/{MODEL}:streamGenerateContent", "alt=sse"),
    ]
    for r in sent:
        assert r["headers"].get("x-goog-api-key") == c.provider_key
        assert "authorization" not in r["headers"], "Gemini is authenticated by x-goog-api-key only"
        assert c.provider_key not in (r["query"] or ""), "the key never goes in the URL"
        assert_no_secrets(json.dumps(r["headers"]), c.master_key)
    assert sent[0]["body"] == {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "hello there gemini"}]}],
        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 50, "stopSequences": ["END"], "seed": 3},
    }
    assert sent[1]["body"] == {"contents": [{"role": "user", "parts": [{"text": "stream me some words please"}]}]}


def test_tool_calls_streamed_and_not(gemini, mock_provider):
    client = gemini.dps[0].openai_client()
    ask = [{"role": "user", "content": "what is the weather in Paris?"}]

    resp = client.chat.completions.create(
        model="gemini-flash", messages=ask, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="auto"
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [(t.id, t.type, t.function.name) for t in calls] == [
        (f"call_0__thought__{SIGNATURE}", "function", "get_weather"),
        ("call_1", "function", "get_time"),
    ]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}

    # Streamed: the calls reassemble from their deltas.
    chunks = list(client.chat.completions.create(model="gemini-flash", messages=ask, tools=[WEATHER_TOOL], stream=True))
    assembled: dict[int, dict[str, str]] = {}
    finishes = []
    for chunk in chunks:
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                entry = assembled.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += tc.id or ""
                entry["name"] += (tc.function.name or "") if tc.function else ""
                entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
            if ch.finish_reason:
                finishes.append(ch.finish_reason)
    assert finishes == ["tool_calls"]
    assert assembled == {
        0: {"id": f"call_0__thought__{SIGNATURE}", "name": "get_weather", "arguments": '{"city":"Paris"}'}
    }

    # The conversation goes on with the results: functionCall / functionResponse parts.
    follow_up = [
        *ask,
        {"role": "assistant", "content": None, "tool_calls": [c.model_dump() for c in calls]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21C"},
        {"role": "tool", "tool_call_id": "call_1", "content": "noon"},
    ]
    resp = client.chat.completions.create(model="gemini-flash", messages=follow_up)
    assert resp.choices[0].message.content == "Echo: what is the weather in Paris?"
    assert resp.choices[0].finish_reason == "stop"

    sent = gemini_requests(mock_provider)
    assert sent[0]["body"]["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                },
                {"name": "get_time"},
            ]
        }
    ]
    assert sent[0]["body"]["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    assert sent[2]["body"]["contents"] == [
        {"role": "user", "parts": [{"text": "what is the weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                # the thought signature goes back with its call
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIGNATURE},
                {"functionCall": {"name": "get_time", "args": {"city": "Paris"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "sunny, 21C"}}},
                {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}},
            ],
        },
    ]


def test_images_and_json_mode(gemini, mock_provider):
    client = gemini.dps[0].openai_client()
    content = [
        {"type": "text", "text": "describe these"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/photo.jpg"}},
    ]
    resp = client.chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": content}])
    assert resp.choices[0].message.content == "Echo: describe these"

    resp = client.chat.completions.create(
        model="gemini-flash",
        messages=[{"role": "user", "content": "give json"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(resp.choices[0].message.content) == {"echo": "Echo: give json"}

    schema = {
        "type": "object",
        "properties": {"echo": {"type": "string"}},
        "required": ["echo"],
        "additionalProperties": False,
    }
    resp = client.chat.completions.create(
        model="gemini-flash",
        messages=[{"role": "user", "content": "give schema json"}],
        response_format={"type": "json_schema", "json_schema": {"name": "e", "strict": True, "schema": schema}},
    )
    assert json.loads(resp.choices[0].message.content) == {"echo": "Echo: give schema json"}

    sent = gemini_requests(mock_provider)
    assert sent[0]["body"]["contents"][0]["parts"] == [
        {"text": "describe these"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo.jpg"}},
    ]
    assert sent[1]["body"]["generationConfig"] == {"responseMimeType": "application/json"}
    assert sent[2]["body"]["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]},
    }


def test_errors_map_to_openai_classes(gemini, mock_provider):
    c = gemini
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "hello"}]

    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="gemini-rate-limited", messages=messages)
    assert exc.value.response.headers.get("retry-after") == "1"
    err = assert_openai_error(exc.value.response, 429, type="rate_limit_error")
    assert "Resource has been exhausted" in err["message"]

    with pytest.raises(openai.RateLimitError):
        for _ in client.chat.completions.create(model="gemini-rate-limited", messages=messages, stream=True):
            pass

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gemini-context", messages=messages)
    assert exc.value.code == "context_length_exceeded"
    assert "exceeds the maximum number of tokens" in assert_openai_error(exc.value.response, 400)["message"]

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gemini-policy", messages=messages)
    assert exc.value.code == "content_policy_violation"

    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="gemini-no-key", messages=messages)
    assert_openai_error(exc.value.response, 401)
    assert_no_secrets(exc.value.response.text, c.master_key, c.provider_key)

    # A parameter Gemini cannot take is refused before any call.
    before = len(gemini_requests(mock_provider))
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gemini-flash", messages=messages, logit_bias={"1": 5})
    assert exc.value.param == "logit_bias"
    assert len(gemini_requests(mock_provider)) == before
