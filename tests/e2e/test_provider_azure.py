"""`azure/` deployments: OpenAI's wire format at Azure's deployment path, with the
`api-key` header and `api-version` query (checked against what the mock received),
Azure's errors mapped to OpenAI's classes, through the real `openai` SDK."""

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
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]
API_VERSION = "2024-06-01"


def azure_cluster(cluster, mock_provider):
    c = cluster(data_planes=1, start=False)

    def deployment(name: str, azure_deployment: str, *, version: str | None = API_VERSION, key: bool = True) -> dict:
        params = {"model": f"azure/{azure_deployment}", "api_base": mock_provider.url}
        if version:
            params["api_version"] = version
        if key:
            params["api_key"] = "os.environ/MOCK_PROVIDER_KEY"
        return {"model_name": name, "litellm_params": params}

    config = dict(c.config)
    config["model_list"] = [
        deployment("gpt-azure", "my-gpt4o"),
        deployment("gpt-azure-default-version", "my-gpt4o", version=None),
        deployment("azure-429", "mock-429"),
        deployment("azure-long", "mock-context-length"),
        deployment("azure-filtered", "mock-content-policy"),
        deployment("azure-nokey", "my-gpt4o", key=False),
    ]
    c.write_config(config)
    c.cp.start()
    c.add_data_plane()
    return c


def azure_requests(mock_provider) -> list[dict]:
    return [r for r in mock_provider.requests() if r["path"].startswith("/openai/deployments/")]


def test_chat_streamed_and_not_at_the_deployment_path(cluster, mock_provider):
    c = azure_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()

    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello azure"}]
    reply = "Echo: hello azure"
    resp = client.chat.completions.create(model="gpt-azure", messages=messages, temperature=0.1, seed=3)
    assert resp.choices[0].message.content == reply
    assert resp.choices[0].finish_reason == "stop"
    assert_usage(resp.usage, messages, reply)

    [got] = azure_requests(mock_provider)
    assert got["path"] == "/openai/deployments/my-gpt4o/chat/completions"
    assert got["query"] == f"api-version={API_VERSION}"
    assert got["headers"].get("api-key") == c.provider_key
    assert "authorization" not in got["headers"]
    assert got["body"] == {"model": "my-gpt4o", "messages": messages, "temperature": 0.1, "seed": 3}

    # Without api_version the current GA version is used.
    mock_provider.clear()
    client.chat.completions.create(model="gpt-azure-default-version", messages=messages)
    [got] = azure_requests(mock_provider)
    assert got["query"] == "api-version=2024-10-21"

    messages = [{"role": "user", "content": "stream these words please"}]
    reply = "Echo: stream these words please"
    collected = collect_stream(client.chat.completions.create(model="gpt-azure", messages=messages, stream=True))
    assert_stream_shape(collected, reply=reply, include_usage=False)
    collected = collect_stream(
        client.chat.completions.create(
            model="gpt-azure", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert_stream_shape(collected, reply=reply, include_usage=True)
    assert_usage(collected.usage_chunks[0].usage, messages, reply)


def test_tools_images_and_json_mode_pass_through(cluster, mock_provider):
    c = azure_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "what's the weather in Paris?"}]

    resp = client.chat.completions.create(model="gpt-azure", messages=messages, tools=TOOLS)
    assert resp.choices[0].finish_reason == "tool_calls"
    [call] = resp.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"location": "Paris"})

    arguments, finish = "", []
    for chunk in client.chat.completions.create(model="gpt-azure", messages=messages, tools=TOOLS, stream=True):
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                arguments += (tc.function.arguments or "") if tc.function else ""
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    assert json.loads(arguments) == {"location": "Paris"}
    assert finish == ["tool_calls"]

    mock_provider.clear()
    content = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    resp = client.chat.completions.create(
        model="gpt-azure", messages=[{"role": "user", "content": content}], response_format={"type": "json_object"}
    )
    assert resp.choices[0].message.content == "Echo: describe"
    [got] = azure_requests(mock_provider)
    assert got["body"]["messages"][0]["content"] == content
    assert got["body"]["response_format"] == {"type": "json_object"}


def test_errors_are_openai_shaped(cluster, mock_provider):
    c = azure_cluster(cluster, mock_provider)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "hello"}]

    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="azure-429", messages=messages)
    assert exc.value.response.headers.get("retry-after") == "1"
    assert_openai_error(exc.value.response, 429, type="rate_limit_error")

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="azure-long", messages=messages)
    assert_openai_error(exc.value.response, 400, code="context_length_exceeded")

    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="azure-filtered", messages=messages)
    err = assert_openai_error(exc.value.response, 400, code="content_policy_violation")
    assert "content management policy" in err["message"]

    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="azure-nokey", messages=messages)
    err = assert_openai_error(exc.value.response, 401)
    assert "Access denied" in err["message"]
    for r in mock_provider.requests():
        assert_no_secrets(json.dumps(r["headers"]), c.master_key)


def stream_without_usage_chunk(dp, model: str, messages: list[dict]) -> tuple[str, str]:
    """Streams through raw HTTP; returns (the gateway's request id, the SSE body)."""
    with dp.http() as http:
        request = {"model": model, "messages": messages, "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=request, headers=dp.auth_headers()) as r:
            assert r.status_code == 200, r.read()
            return r.headers["x-litellm-call-id"], "".join(r.iter_text())


def test_streamed_usage_reaches_accounting_without_usage_chunk(cluster, mock_provider, pg_url):
    c = azure_cluster(cluster, mock_provider)
    messages = [{"role": "user", "content": "count these four words"}]
    reply = "Echo: count these four words"
    request_id, body = stream_without_usage_chunk(c.dps[0], "gpt-azure-default-version", messages)
    assert '"usage":{' not in body.replace(" ", ""), "the client did not ask for a usage chunk"
    assert body.rstrip().endswith("data: [DONE]")
    [got] = azure_requests(mock_provider)
    assert got["body"]["stream_options"] == {"include_usage": True}, "usage is asked for, for accounting"
    assert recorded_tokens(pg_url, request_id) == (4 + 1, len(reply.split()))
