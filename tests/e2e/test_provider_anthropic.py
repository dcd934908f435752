"""`anthropic/` deployments: OpenAI requests translated to Anthropic's Messages API
(checked against what the mock received) and Anthropic's answers, streams and
errors translated back, through the real `openai` SDK."""

from __future__ import annotations

import json

import openai
import pytest

from components import recorded_tokens
from expect import assert_no_secrets, assert_openai_error, assert_stream_shape, assert_usage, collect_stream

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
        },
    }
]


def anthropic_cluster(cluster, mock_provider):
    c = cluster(data_planes=1, start=False)

    def deployment(name: str, model: str, *, key: bool = True) -> dict:
        params = {"model": f"anthropic/{model}", "api_base": mock_provider.url}
        if key:
            params["api_key"] = "os.environ/MOCK_PROVIDER_KEY"
        return {"model_name": name, "litellm_params": params}

    config = dict(c.config)
    config["model_list"] = [
        deployment("claude", "claude-3-5-sonnet-20241022"),
        deployment("claude-429", "mock-429"),
        deployment("claude-long", "mock-context-length"),
        deployment("claude-nokey", "claude-3-5-sonnet-20241022", key=False),
    ]
    c.write_config(config)
    c.cp.start()
    c.add_data_plane()
    return c


def messages_requests(mock_provider) -> list[dict]:
    return [r for r in mock_provider.requests() if r["path"] == "/v1/messages"]


def test_chat_streamed_and_not_in_anthropic_format(cluster, mock_provider):
    c = anthropic_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()

    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello there claude"},
    ]
    reply = "Echo: hello there claude"
    resp = client.chat.completions.create(model="claude", messages=messages, temperature=0.5, stop=["END"])
    assert resp.object == "chat.completion"
    assert resp.model == "claude"
    assert resp.id.startswith("msg_mock_")
    choice = resp.choices[0]
    assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", reply, "stop")
    assert_usage(resp.usage, messages, reply)

    # The exact request Anthropic received.
    [got] = messages_requests(mock_provider)
    assert got["method"] == "POST"
    assert got["headers"].get("x-api-key") == c.provider_key
    assert got["headers"].get("anthropic-version") == "2023-06-01"
    assert "authorization" not in got["headers"]
    assert got["body"] == {
        "model": "claude-3-5-sonnet-20241022",
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there claude"}]}],
        "max_tokens": 8192,
        "stop_sequences": ["END"],
        "temperature": 0.5,
    }

    # Streamed, without and with the usage chunk.
    mock_provider.clear()
    messages = [{"role": "user", "content": "stream me some words please"}]
    reply = "Echo: stream me some words please"
    collected = collect_stream(client.chat.completions.create(model="claude", messages=messages, stream=True))
    assert_stream_shape(collected, reply=reply, include_usage=False)
    assert collected.content_chunks == len(reply.split())
    collected = collect_stream(
        client.chat.completions.create(
            model="claude", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert_stream_shape(collected, reply=reply, include_usage=True)
    assert_usage(collected.usage_chunks[0].usage, messages, reply)
    sent = messages_requests(mock_provider)
    assert [r["body"].get("stream") for r in sent] == [True, True]
    assert all("stream_options" not in r["body"] for r in sent), "OpenAI-only fields must not reach Anthropic"


def test_tool_calls_round_trip(cluster, mock_provider):
    c = anthropic_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]

    resp = client.chat.completions.create(model="claude", messages=messages, tools=TOOLS, tool_choice="auto")
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris"}
    assert call.id.startswith("toolu_mock_")

    [got] = messages_requests(mock_provider)
    assert got["body"]["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather in a city",
            "input_schema": TOOLS[0]["function"]["parameters"],
        }
    ]
    assert got["body"]["tool_choice"] == {"type": "auto"}

    # Streamed: the call arrives as OpenAI tool-call deltas.
    stream = client.chat.completions.create(model="claude", messages=messages, tools=TOOLS, stream=True)
    names, arguments, ids, finish = [], "", set(), []
    for chunk in stream:
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                assert tc.index == 0
                if tc.id:
                    ids.add(tc.id)
                if tc.function and tc.function.name:
                    names.append(tc.function.name)
                if tc.function and tc.function.arguments:
                    arguments += tc.function.arguments
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    assert names == ["get_weather"]
    assert len(ids) == 1
    assert json.loads(arguments) == {"location": "Paris"}
    assert finish == ["tool_calls"]

    # The tool result goes back as a user tool_result block after the assistant tool_use.
    mock_provider.clear()
    follow_up = [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
    ]
    resp = client.chat.completions.create(model="claude", messages=follow_up, tools=TOOLS)
    assert resp.choices[0].finish_reason == "stop"
    [got] = messages_requests(mock_provider)
    assert got["body"]["messages"][1:] == [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"location": "Paris"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}]},
    ]


def test_images_and_json_mode(cluster, mock_provider):
    c = anthropic_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()

    content = [
        {"type": "text", "text": "describe these"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    resp = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": content}])
    assert resp.choices[0].message.content == "Echo: describe these"
    [got] = messages_requests(mock_provider)
    assert got["body"]["messages"][0]["content"] == [
        {"type": "text", "text": "describe these"},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
    ]

    # JSON mode: a forced tool whose input becomes the message content.
    mock_provider.clear()
    schema = {"type": "object", "properties": {"reply": {"type": "string"}}}
    resp = client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "give json"}],
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.tool_calls is None
    assert json.loads(resp.choices[0].message.content) == {"reply": "Echo: give json"}
    [got] = messages_requests(mock_provider)
    assert got["body"]["tools"] == [{"name": "json_tool_call", "input_schema": schema}]
    assert got["body"]["tool_choice"] == {"type": "tool", "name": "json_tool_call"}


def test_errors_are_openai_shaped(cluster, mock_provider):
    c = anthropic_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "hello"}]

    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="claude-429", messages=messages)
    assert exc.value.response.headers.get("retry-after") == "1"
    err = assert_openai_error(exc.value.response, 429, type="rate_limit_error")
    assert "rate limit" in err["message"]

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="claude-long", messages=messages)
    err = assert_openai_error(exc.value.response, 400, code="context_length_exceeded")
    assert "prompt is too long" in err["message"]

    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="claude-nokey", messages=messages)
    assert_openai_error(exc.value.response, 401, type="authentication_error")

    # A parameter Anthropic cannot take is refused before the call, naming it.
    mock_provider.clear()
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="claude", messages=messages, seed=7)
    err = assert_openai_error(exc.value.response, 400, type="invalid_request_error")
    assert err["param"] == "seed"
    assert messages_requests(mock_provider) == []

    # Overloaded (529) is a 503.
    # (One attempt: the router would retry a 503, and the rule fails only one request.)
    mock_provider.add_fault("claude-3-5-sonnet-20241022", status=529, times=1)
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="claude", messages=messages, extra_body={"num_retries": 0})
    assert_openai_error(exc.value.response, 503, type="api_error")
    for r in mock_provider.requests():
        assert_no_secrets(json.dumps(r["headers"]), c.master_key)


def test_thinking_comes_back_as_reasoning_content(cluster, mock_provider):
    c = anthropic_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "think hard"}]

    resp = client.chat.completions.create(model="claude", messages=messages, reasoning_effort="low")
    message = resp.choices[0].message
    assert message.content == "Echo: think hard"
    assert message.reasoning_content == "Let me think about that."
    [got] = messages_requests(mock_provider)
    assert got["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "reasoning_effort" not in got["body"]

    reasoning, content = "", ""
    for chunk in client.chat.completions.create(model="claude", messages=messages, reasoning_effort="low", stream=True):
        for ch in chunk.choices:
            reasoning += getattr(ch.delta, "reasoning_content", None) or ""
            content += ch.delta.content or ""
    assert (reasoning, content) == ("Let me think about that.", "Echo: think hard")


def stream_without_usage_chunk(dp, model: str, messages: list[dict]) -> tuple[str, str]:
    """Streams through raw HTTP; returns (the gateway's request id, the SSE body)."""
    with dp.http() as http:
        request = {"model": model, "messages": messages, "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=request, headers=dp.auth_headers()) as r:
            assert r.status_code == 200, r.read()
            return r.headers["x-litellm-call-id"], "".join(r.iter_text())


def test_streamed_usage_reaches_accounting_without_usage_chunk(cluster, mock_provider, pg_url):
    c = anthropic_cluster(cluster, mock_provider)
    messages = [{"role": "user", "content": "count these four words"}]
    reply = "Echo: count these four words"
    request_id, body = stream_without_usage_chunk(c.dps[0], "claude", messages)
    assert '"usage":{' not in body.replace(" ", ""), "the client did not ask for a usage chunk"
    assert body.rstrip().endswith("data: [DONE]")
    assert recorded_tokens(pg_url, request_id) == (4 + 1, len(reply.split()))
