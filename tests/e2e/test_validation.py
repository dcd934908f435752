"""Request shapes are checked before any provider is called: 400 `invalid_request_error`
with `param` naming the bad field as OpenAI does (`messages[2]`, `tools[1].function.name`),
and nothing reaches the provider."""

from __future__ import annotations

from typing import Any

import pytest

from expect import assert_openai_error

USER = {"role": "user", "content": "hi"}


@pytest.fixture
def dp(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    key = "os.environ/MOCK_PROVIDER_KEY"
    c.write_config(
        {
            "model_list": [
                {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": mock_provider.api_base, "api_key": key}},
                {
                    "model_name": "vectors",
                    "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": mock_provider.api_base, "api_key": key},
                    "model_info": {"mode": "embedding"},
                },
            ],
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    return c.add_data_plane()


def post(dp, path: str, body: dict[str, Any]):
    with dp.http() as h:
        return h.post(path, json=body, headers=dp.auth_headers())


CHAT_CASES = [
    ({"messages": [USER, USER, None]}, "messages[2]", "got null"),
    ({"messages": [[], USER]}, "messages[0]", "got an empty array"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", '"robot"'),
    ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content", "the number 42"),
    ({"messages": [{"role": "user"}]}, "messages[0].content", "Missing required parameter"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages[0].content[0].type", "Missing"),
    ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id", "Missing"),
    (
        {"messages": [USER], "tools": [{"type": "function", "function": {"name": "ok"}}, {"type": "function", "function": {"name": "no spaces"}}]},
        "tools[1].function.name",
        "letters, digits",
    ),
    ({"messages": [USER], "tool_choice": "sometimes"}, "tool_choice", '"sometimes"'),
    ({"messages": [USER], "n": 0}, "n", "from 1 to 128"),
    ({"messages": [USER], "stop": ["a", 7]}, "stop[1]", "a string"),
    ({"messages": [USER], "temperature": 5}, "temperature", "from 0 to 2"),
    ({"messages": [USER], "max_tokens": -3}, "max_tokens", "at least 1"),
]


def test_malformed_chat_requests_are_refused_before_the_provider(dp, mock_provider):
    # One cluster for every case: each is a separate request, and each is named in the failure.
    for fields, param, said in CHAT_CASES:
        r = post(dp, "/v1/chat/completions", {"model": "gpt-4o-mini", **fields})
        err = assert_openai_error(r, 400, type="invalid_request_error")
        assert err["param"] == param, (fields, err)
        assert said in err["message"] and f"'{param}'" in err["message"], (fields, err)
    assert mock_provider.requests() == [], "a malformed request reached the provider"


def test_well_formed_requests_of_every_shape_are_forwarded(dp, mock_provider):
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "n": 1, "stop": "\n\n", "temperature": 0, "max_tokens": 20, "logit_bias": {"50256": -100}, "user": None,
    }  # fmt: skip
    r = post(dp, "/v1/chat/completions", body)
    assert r.status_code == 200, r.text
    sent = mock_provider.chat_requests()
    assert len(sent) == 1 and sent[0]["body"]["messages"] == body["messages"], sent


PROMPT_CASES = [(["a", 1], "prompt[1]"), ([[1, 2], [3, -4]], "prompt[1][1]"), ([], "prompt"), ({"text": "x"}, "prompt")]
INPUT_CASES = [([], "input"), (["a", None], "input[1]"), ([[1], []], "input[1]"), ([[1], ["x"]], "input[1][0]"), (3, "input")]


def test_malformed_prompts_and_embedding_inputs_are_named(dp, mock_provider):
    for prompt, param in PROMPT_CASES:
        err = assert_openai_error(post(dp, "/v1/completions", {"model": "gpt-4o-mini", "prompt": prompt}), 400)
        assert err["param"] == param, (prompt, err)
    for value, param in INPUT_CASES:
        err = assert_openai_error(post(dp, "/v1/embeddings", {"model": "vectors", "input": value}), 400)
        assert err["param"] == param, (value, err)
    assert mock_provider.requests() == []
