"""Chat completions through data planes: proxied to the provider and answered locally."""

from __future__ import annotations

import json

from expect import assert_no_secrets, assert_stream_shape, assert_usage, collect_stream


def test_chat_through_each_data_plane_streamed_and_not(cluster, mock_provider):
    c = cluster(data_planes=2)

    sent: list[dict] = []  # (the messages of every request, in order)
    for dp in c.dps:
        client = dp.openai_client()

        # non-streamed
        messages = [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": f"hello there from {dp.node_id}"},
        ]
        reply = f"Echo: hello there from {dp.node_id}"
        resp = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        sent.append({"messages": messages, "stream": False})
        assert resp.object == "chat.completion"
        assert resp.model == "gpt-4o-mini"
        assert len(resp.choices) == 1
        choice = resp.choices[0]
        assert (choice.index, choice.message.role, choice.message.content, choice.finish_reason) == (
            0, "assistant", reply, "stop",
        )  # fmt: skip
        assert_usage(resp.usage, messages, reply)

        # streamed, no usage asked
        messages = [{"role": "user", "content": f"stream me some words please {dp.name}"}]
        reply = f"Echo: stream me some words please {dp.name}"
        collected = collect_stream(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
        sent.append({"messages": messages, "stream": True})
        assert_stream_shape(collected, reply=reply, include_usage=False)
        assert collected.content_chunks == len(reply.split()), "mock streams one chunk per word"

        # streamed with include_usage
        messages = [{"role": "user", "content": f"count my tokens {dp.name}"}]
        reply = f"Echo: count my tokens {dp.name}"
        collected = collect_stream(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
        sent.append({"messages": messages, "stream": True, "stream_options": {"include_usage": True}})
        assert_stream_shape(collected, reply=reply, include_usage=True)
        assert_usage(collected.usage_chunks[0].usage, messages, reply)

    # What reached the provider: one request per chat, in order, rewritten as configured.
    upstream = mock_provider.chat_requests()
    assert len(upstream) == len(sent), f"provider saw {len(upstream)} chat requests, expected {len(sent)}"
    for got, want in zip(upstream, sent, strict=True):
        assert got["method"] == "POST"
        assert got["path"] == "/v1/chat/completions"
        assert got["headers"].get("authorization") == f"Bearer {c.provider_key}"
        body = got["body"]
        assert body["model"] == "gpt-4o-mini", "openai/ prefix must be stripped"
        assert body["messages"] == want["messages"]
        assert bool(body.get("stream", False)) is want["stream"]
        if "stream_options" in want:
            assert body["stream_options"] == want["stream_options"], "stream_options must be forwarded unchanged"

    # The master key never reaches the provider, in any header or body.
    for req in mock_provider.requests():
        assert_no_secrets(json.dumps(req["headers"]), c.master_key)
        assert_no_secrets(req.get("raw_body") or "", c.master_key)
        assert_no_secrets(json.dumps(req.get("body")), c.master_key)


def test_mock_response_deployment_answers_locally(cluster, mock_provider):
    c = cluster(data_planes=1)
    client = c.dps[0].openai_client()
    messages = [{"role": "user", "content": "who are you?"}]

    resp = client.chat.completions.create(model="local-mock", messages=messages)
    assert resp.object == "chat.completion"
    assert len(resp.choices) == 1
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Hello from Tollgate"
    assert resp.choices[0].finish_reason == "stop"

    collected = collect_stream(client.chat.completions.create(model="local-mock", messages=messages, stream=True))
    assert_stream_shape(collected, reply="Hello from Tollgate", include_usage=False)
    assert collected.content_chunks > 1, "a mock_response stream is split into several chunks"

    assert mock_provider.requests() == [], "mock_response deployment must not call upstream"


def test_the_answers_model_is_the_group_asked_for(cluster, mock_provider):
    """As LiteLLM answers: `model` names the model group the client sent, not the provider's
    model id, for JSON and for every streamed chunk; the deployment is in x-litellm-model-id."""
    c = cluster(data_planes=0, start=False)
    config = c.config
    config["model_list"].append(
        {
            "model_name": "my-gpt",
            "litellm_params": {
                "model": "openai/gpt-4o-mini-2024-07-18",
                "api_base": mock_provider.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
            },
        }
    )
    c.write_config(config)
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()
    resp = client.chat.completions.with_raw_response.create(
        model="my-gpt", messages=[{"role": "user", "content": "hi"}]
    )
    assert resp.parse().model == "my-gpt"
    assert resp.headers["x-litellm-model-id"]
    [sent] = mock_provider.chat_requests()
    assert sent["body"]["model"] == "gpt-4o-mini-2024-07-18"
    chunks = list(
        client.chat.completions.create(
            model="my-gpt", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks and {ch.model for ch in chunks} == {"my-gpt"}
    assert chunks[-1].usage is not None
