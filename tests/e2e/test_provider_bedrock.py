"""AWS Bedrock (Converse API) through a data plane: SigV4-signed requests, translation
both ways, the binary event stream, tools, images, JSON mode and errors."""

from __future__ import annotations

import json
import re

import openai
import pytest

from components import MOCK_AWS_ACCESS_KEY_ID, bedrock_deployment
from expect import assert_no_secrets, assert_openai_error, assert_stream_shape, assert_usage, collect_stream

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CLAUDE_PATH = "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def dp(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    config = dict(c.config)
    m = mock_provider
    config["model_list"] = [
        bedrock_deployment(m, "claude", CLAUDE),
        bedrock_deployment(m, "claude-drop", CLAUDE, drop_params=True),
        bedrock_deployment(m, "bedrock-429", "mock-429"),
        bedrock_deployment(m, "bedrock-ctx", "mock-context-length"),
        bedrock_deployment(m, "bedrock-guardrail", "mock-content-policy"),
        bedrock_deployment(m, "bedrock-stream-throttled", "mock-stream-throttling"),
        bedrock_deployment(m, "bedrock-bad-secret", CLAUDE, aws_secret_access_key="not-the-secret"),
        bedrock_deployment(m, "bedrock-bad-key", CLAUDE, aws_access_key_id="AKIAINVALID"),
    ]
    c.write_config(config)
    c.cp.start()
    dp = c.add_data_plane()
    dp.cluster = c
    return dp


def converse_requests(mock_provider):
    return [r for r in mock_provider.requests() if r["path"].startswith("/model/")]


def assert_signed(request, region="us-east-1"):
    auth = request["headers"].get("authorization", "")
    assert re.fullmatch(
        rf"AWS4-HMAC-SHA256 Credential={MOCK_AWS_ACCESS_KEY_ID}/\d{{8}}/{region}/bedrock/aws4_request, "
        r"SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}",
        auth,
    ), auth
    assert re.fullmatch(r"\d{8}T\d{6}Z", request["headers"].get("x-amz-date", "")), request["headers"]


def test_chat_non_streamed_is_signed_and_translated(dp, mock_provider):
    client = dp.openai_client()
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello bedrock world"}]
    resp = client.chat.completions.create(
        model="claude", messages=messages, max_tokens=50, temperature=0.2, stop=["END"]
    )
    assert resp.object == "chat.completion"
    assert resp.model == "claude"
    choice = resp.choices[0]
    assert (choice.message.role, choice.message.content, choice.finish_reason) == (
        "assistant", "Echo: hello bedrock world", "stop",
    )  # fmt: skip
    assert_usage(resp.usage, messages, "Echo: hello bedrock world")

    [sent] = converse_requests(mock_provider)
    assert sent["path"] == f"/model/{CLAUDE_PATH}/converse", "the model id is path-encoded"
    assert_signed(sent)
    assert sent["body"] == {
        "system": [{"text": "You are terse."}],
        "messages": [{"role": "user", "content": [{"text": "hello bedrock world"}]}],
        "inferenceConfig": {"maxTokens": 50, "temperature": 0.2, "stopSequences": ["END"]},
    }
    assert_no_secrets(json.dumps(sent["headers"]), dp.cluster.master_key)


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_streamed_over_the_event_stream(dp, mock_provider, include_usage):
    client = dp.openai_client()
    messages = [{"role": "user", "content": "stream me several words please"}]
    reply = "Echo: stream me several words please"
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    collected = collect_stream(client.chat.completions.create(model="claude", messages=messages, stream=True, **kwargs))
    assert_stream_shape(collected, reply=reply, include_usage=include_usage)
    assert collected.content_chunks == len(reply.split()), "one chunk per Bedrock delta"
    if include_usage:
        assert_usage(collected.usage_chunks[0].usage, messages, reply)
    [sent] = converse_requests(mock_provider)
    assert sent["path"] == f"/model/{CLAUDE_PATH}/converse-stream"
    assert_signed(sent)


def test_tool_calls_round_trip_streamed_and_not(dp, mock_provider):
    client = dp.openai_client()
    ask = [{"role": "user", "content": "what's the weather in Paris?"}]
    resp = client.chat.completions.create(model="claude", messages=ask, tools=TOOLS, tool_choice="auto")
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert (call.id, call.type, call.function.name) == ("tooluse_mock_0001", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"location": "Paris"}

    # streamed: id and name first, then argument fragments that reassemble
    chunks = list(client.chat.completions.create(model="claude", messages=ask, tools=TOOLS, stream=True))
    deltas = [tc for ch in chunks for c in ch.choices if c.delta.tool_calls for tc in c.delta.tool_calls]
    assert deltas[0].id == "tooluse_mock_0001" and deltas[0].function.name == "get_weather"
    assert all(d.index == 0 for d in deltas)
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"location": "Paris"}
    assert [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason] == ["tool_calls"]

    # the result goes back as toolUse / toolResult blocks
    follow_up = [
        *ask,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
    ]
    resp = client.chat.completions.create(model="claude", messages=follow_up, tools=TOOLS)
    assert resp.choices[0].message.content == "Echo: sunny, 21C"
    sent = converse_requests(mock_provider)[-1]["body"]
    assert sent["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "inputSchema": {"json": TOOLS[0]["function"]["parameters"]},
                }
            }
        ]
    }
    assert sent["messages"][1:] == [
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": call.id, "name": "get_weather", "input": {"location": "Paris"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": call.id, "content": [{"text": "sunny, 21C"}]}}]},
    ]  # fmt: skip


def test_images_reach_bedrock_as_bytes(dp, mock_provider):
    client = dp.openai_client()
    content = [
        {"type": "text", "text": "describe this"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    resp = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": content}])
    assert resp.choices[0].message.content == "Echo: describe this"
    [sent] = converse_requests(mock_provider)
    assert sent["body"]["messages"][0]["content"] == [
        {"text": "describe this"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
    ]

    # Converse takes bytes only: an http URL is refused, or dropped with drop_params
    remote = [
        {"type": "text", "text": "and this"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="claude", messages=[{"role": "user", "content": remote}])
    assert "data:" in assert_openai_error(exc.value.response, 400)["message"]
    resp = client.chat.completions.create(model="claude-drop", messages=[{"role": "user", "content": remote}])
    assert resp.choices[0].message.content == "Echo: and this"


def test_json_mode_and_unsupported_params(dp, mock_provider):
    client = dp.openai_client()
    resp = client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "give json"}], response_format={"type": "json_object"}
    )
    assert json.loads(resp.choices[0].message.content) == {"reply": "Echo: give json"}
    assert resp.choices[0].finish_reason == "stop"
    sent = converse_requests(mock_provider)[-1]["body"]
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "json_tool_call"}}

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}], seed=3)
    assert assert_openai_error(exc.value.response, 400)["param"] == "seed"
    resp = client.chat.completions.create(model="claude-drop", messages=[{"role": "user", "content": "hi"}], seed=3)
    assert resp.choices[0].message.content == "Echo: hi"


def test_errors_map_to_openai_classes(dp, mock_provider):
    client = dp.openai_client()
    msgs = [{"role": "user", "content": "hi"}]

    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="bedrock-429", messages=msgs)
    assert exc.value.response.headers.get("retry-after") == "1"
    assert "Too many requests" in assert_openai_error(exc.value.response, 429)["message"]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="bedrock-429", messages=msgs, stream=True)

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="bedrock-ctx", messages=msgs)
    assert_openai_error(exc.value.response, 400, code="context_length_exceeded")

    resp = client.chat.completions.create(model="bedrock-guardrail", messages=msgs)
    assert resp.choices[0].finish_reason == "content_filter"

    # a wrong secret fails the mock's signature check; an unknown key is refused
    for model in ("bedrock-bad-secret", "bedrock-bad-key"):
        with pytest.raises(openai.AuthenticationError) as exc:
            client.chat.completions.create(model=model, messages=msgs)
        err = assert_openai_error(exc.value.response, 401)
        assert_no_secrets(exc.value.response.text, "not-the-secret")
        assert err["message"].startswith("bedrock: ")


def test_a_mid_stream_exception_ends_the_stream_with_an_error_event(dp, mock_provider):
    body = {"model": "bedrock-stream-throttled", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with dp.http() as http, http.stream("POST", "/v1/chat/completions", json=body, headers=dp.auth_headers()) as r:
        assert r.status_code == 200
        events = [line[len("data: ") :] for line in r.iter_lines() if line.startswith("data: ")]
    assert "[DONE]" not in events, "a broken stream must not look complete"
    first, last = json.loads(events[0]), json.loads(events[-1])
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert last["error"]["type"] == "rate_limit_error", last
    assert "mock: injected stream exception" in last["error"]["message"]
