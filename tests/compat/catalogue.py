"""The catalogue of requests sent to both gateways, by area. Ids are
``<area>.<provider or topic>.<what>``; the allow-list names cases by these ids
(globs allowed), so keep them stable."""

from __future__ import annotations

from typing import Any

from case import MASTER, NO_AUTH, WRONG_KEY, Case

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
IMAGE_PART = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
USER = {"role": "user", "content": "hello there gateway"}
SYSTEM = {"role": "system", "content": "You are terse."}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
TOOL_TURNS = [
    {"role": "user", "content": "weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"},
]
JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def chat(model: str, messages: list[dict[str, Any]] | None = None, **params: Any) -> dict[str, Any]:
    return {"model": model, "messages": messages if messages is not None else [USER], **params}


def translation_cases(area: str, model: str) -> list[Case]:
    """What every provider's translation must carry: system prompts, tools and tool turns,
    images, JSON mode, stop sequences, sampling parameters and streaming usage."""
    c = f"chat.{area}"
    return [
        Case(f"{c}.basic", json=chat(model)),
        Case(f"{c}.system", json=chat(model, [SYSTEM, USER])),
        Case(f"{c}.multi-turn", json=chat(model, [SYSTEM, USER, {"role": "assistant", "content": "hi"}, USER])),
        Case(f"{c}.params", json=chat(model, temperature=0.5, top_p=0.9, max_tokens=50)),
        Case(f"{c}.stop-list", json=chat(model, stop=["END", "STOP"])),
        Case(f"{c}.stop-string", json=chat(model, stop="END")),
        Case(f"{c}.tools", json=chat(model, tools=[WEATHER_TOOL])),
        Case(f"{c}.tool-choice", json=chat(model, tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}})),
        Case(f"{c}.tool-turns", json=chat(model, TOOL_TURNS, tools=[WEATHER_TOOL])),
        Case(f"{c}.image", json=chat(model, [{"role": "user", "content": [{"type": "text", "text": "what is this"}, IMAGE_PART]}])),
        Case(f"{c}.json-mode", json=chat(model, response_format={"type": "json_object"})),
        Case(f"{c}.json-schema", json=chat(model, response_format=JSON_SCHEMA)),
        Case(f"{c}.stream", json=chat(model, stream=True)),
        Case(f"{c}.stream-usage", json=chat(model, [SYSTEM, USER], stream=True, stream_options={"include_usage": True})),
        Case(f"{c}.stream-tools", json=chat(model, tools=[WEATHER_TOOL], stream=True)),
    ]


def chat_cases() -> list[Case]:
    cases = translation_cases("openai", "gpt-4o-mini")
    m = "gpt-4o-mini"
    cases += [
        Case("chat.openai.seed-penalties", json=chat(m, seed=7, presence_penalty=0.1, frequency_penalty=0.2)),
        Case("chat.openai.max-completion-tokens", json=chat(m, max_completion_tokens=20)),
        Case("chat.openai.n", json=chat(m, n=1)),
        Case("chat.openai.user", json=chat(m, user="end-user-1")),
        Case("chat.openai.logprobs", json=chat(m, logprobs=True, top_logprobs=2)),
        Case("chat.openai.parallel-tool-calls", json=chat(m, tools=[WEATHER_TOOL], parallel_tool_calls=False)),
        Case("chat.openai.metadata", json=chat(m, metadata={"tags": ["compat"]})),
        Case("chat.openai.stream-false", json=chat(m, stream=False)),
        Case("chat.openai.content-parts", json=chat(m, [{"role": "user", "content": [{"type": "text", "text": "two parts"}]}])),
        Case("chat.openai.developer-role", json=chat(m, [{"role": "developer", "content": "be brief"}, USER])),
        Case("chat.openai.no-usage", json=chat("gpt-no-usage")),
        Case("chat.openai.no-usage-stream", json=chat("gpt-no-usage", stream=True, stream_options={"include_usage": True})),
        Case("chat.openai.path-without-v1", path="/chat/completions", json=chat(m)),
        Case("chat.openai.engines-path", path="/openai/deployments/gpt-4o-mini/chat/completions", json=chat(m)),
        Case("chat.mock-response.json", json=chat("local-mock")),
        Case("chat.mock-response.stream", json=chat("local-mock", stream=True)),
    ]
    for area, model in [
        ("azure", "azure-gpt"),
        ("anthropic", "claude"),
        ("gemini", "gemini-flash"),
        ("ollama", "ollama-chat"),
        ("bedrock", "bedrock-claude"),
    ]:
        cases += translation_cases(area, model)
    cases += [
        Case("chat.ollama.generate-prefix", json=chat("ollama-generate")),
        Case("chat.anthropic.max-tokens", json=chat("claude", max_tokens=64)),
        Case("chat.anthropic.two-system", json=chat("claude", [SYSTEM, {"role": "system", "content": "Be nice."}, USER])),
    ]
    return cases


def provider_error_cases() -> list[Case]:
    return [
        Case("errors.openai.rate-limit", json=chat("rate-limited")),
        Case("errors.openai.server-error", json=chat("server-error")),
        Case("errors.openai.context-length", json=chat("context-too-long")),
        Case("errors.openai.content-policy", json=chat("content-policy")),
        Case("errors.openai.rate-limit-stream", json=chat("rate-limited", stream=True)),
        Case("errors.azure.rate-limit", json=chat("azure-429")),
        Case("errors.azure.content-filter", json=chat("azure-filtered")),
        Case("errors.anthropic.rate-limit", json=chat("claude-429")),
        Case("errors.anthropic.context-length", json=chat("claude-long")),
        Case("errors.gemini.rate-limit", json=chat("gemini-429")),
        Case("errors.gemini.content-policy", json=chat("gemini-policy")),
        Case("errors.bedrock.throttled", json=chat("bedrock-429")),
        Case("errors.bedrock.context-length", json=chat("bedrock-long")),
    ]


def routing_cases() -> list[Case]:
    fail_once = ({"model": "flaky-model", "status": 500, "times": 1},)
    return [
        Case("routing.retry.then-success", json=chat("flaky"), faults=fail_once),
        Case("routing.retry.rate-limit-then-success", json=chat("flaky"), faults=({"model": "flaky-model", "status": 429, "times": 1, "retry_after": 0},)),
        Case("routing.retry.request-num-retries-0", json=chat("flaky", num_retries=0), faults=fail_once),
        Case("routing.retry.exhausted", json=chat("flaky"), faults=({"model": "flaky-model", "status": 503, "times": 5},)),
        Case("routing.retry.stream-then-success", json=chat("flaky", stream=True), faults=fail_once),
        Case("routing.fallback.generic", json=chat("fb-primary")),
        Case("routing.fallback.chain", json=chat("fb-chain")),
        Case("routing.fallback.generic-stream", json=chat("fb-primary", stream=True)),
        Case("routing.fallback.context-window", json=chat("cw-primary")),
        Case("routing.fallback.content-policy", json=chat("cp-primary")),
        Case("routing.fallback.disabled", json=chat("fb-primary", disable_fallbacks=True)),
        Case("routing.fallback.request-list", json=chat("server-error", fallbacks=["gpt-4o-mini"])),
        Case("routing.fallback.mock-testing", json=chat("gpt-4o-mini", mock_testing_fallbacks=True)),
        Case("routing.fallback.embeddings", path="/v1/embeddings", json={"model": "embed", "input": "hi", "fallbacks": ["embed"]}),
        # A long retry-after, so the cooldown it starts outlasts the second request
        # however slow the machine is (both gateways cool down for the provider's retry-after).
        Case("routing.cooldown.pair", json=chat("cool-pair"), repeat=2, faults=({"model": "cool-model", "status": 429, "times": 10, "retry_after": 30},)),
        Case("routing.timeout.deployment", json=chat("slow"), timeout=30.0),
        Case("routing.timeout.stream-deployment", json=chat("slow-stream", stream=True), timeout=30.0),
        Case("routing.timeout.request", json=chat("slow-ok", timeout=0.05), timeout=30.0),
        Case("routing.timeout.request-generous", json=chat("slow-ok", timeout=20)),
    ]


def embedding_cases() -> list[Case]:
    p = "/v1/embeddings"
    return [
        Case("embeddings.openai.single", path=p, json={"model": "embed", "input": "hello world"}),
        Case("embeddings.openai.list", path=p, json={"model": "embed", "input": ["hello world", "second input"]}),
        Case("embeddings.openai.tokens", path=p, json={"model": "embed", "input": [1, 2, 3]}),
        Case("embeddings.openai.dimensions", path=p, json={"model": "embed", "input": "hi", "dimensions": 4}),
        Case("embeddings.openai.float", path=p, json={"model": "embed", "input": "hi", "encoding_format": "float"}),
        Case("embeddings.openai.base64", path=p, json={"model": "embed", "input": "hi", "encoding_format": "base64"}),
        Case("embeddings.openai.no-v1", path="/embeddings", json={"model": "embed", "input": "hi"}),
        Case("embeddings.azure.list", path=p, json={"model": "azure-embed", "input": ["a b", "c"]}),
        Case("embeddings.gemini.list", path=p, json={"model": "gemini-embed", "input": ["a b", "c"]}),
        Case("embeddings.ollama.list", path=p, json={"model": "ollama-embed", "input": ["a b", "c"]}),
        Case("embeddings.bedrock.titan", path=p, json={"model": "bedrock-titan-embed", "input": "hello world"}),
        Case("embeddings.bad.missing-input", path=p, json={"model": "embed"}),
        Case("embeddings.bad.unknown-model", path=p, json={"model": "nope", "input": "hi"}),
        Case("embeddings.bad.missing-model", path=p, json={"input": "hi"}),
        Case("embeddings.bad.input-type", path=p, json={"model": "embed", "input": {"a": 1}}),
        Case("embeddings.bad.upstream-error", path=p, json={"model": "server-error", "input": "hi"}),
    ]


def completion_cases() -> list[Case]:
    p = "/v1/completions"
    return [
        Case("completions.openai.prompt", path=p, json={"model": "instruct", "prompt": "say hello"}),
        Case("completions.openai.prompt-list", path=p, json={"model": "instruct", "prompt": ["one", "two"]}),
        Case("completions.openai.params", path=p, json={"model": "instruct", "prompt": "hi", "max_tokens": 5, "temperature": 0, "stop": ["\n"]}),
        Case("completions.openai.stream", path=p, json={"model": "instruct", "prompt": "hi", "stream": True}),
        Case("completions.openai.stream-usage", path=p, json={"model": "instruct", "prompt": "hi", "stream": True, "stream_options": {"include_usage": True}}),
        Case("completions.openai.no-v1", path="/completions", json={"model": "instruct", "prompt": "hi"}),
        Case("completions.bad.missing-prompt", path=p, json={"model": "instruct"}),
        Case("completions.bad.unknown-model", path=p, json={"model": "nope", "prompt": "hi"}),
        Case("completions.bad.prompt-type", path=p, json={"model": "instruct", "prompt": {"a": 1}}),
        Case("completions.bad.upstream-error", path=p, json={"model": "server-error", "prompt": "hi"}),
    ]


def model_cases() -> list[Case]:
    return [
        Case("models.list", method="GET", path="/v1/models"),
        Case("models.list-no-v1", method="GET", path="/models"),
        Case("models.list-no-auth", method="GET", path="/v1/models", auth=NO_AUTH),
        Case("models.list-wrong-key", method="GET", path="/v1/models", auth=WRONG_KEY),
        Case("models.retrieve", method="GET", path="/v1/models/gpt-4o-mini"),
        Case("models.retrieve-unknown", method="GET", path="/v1/models/nope"),
        Case("models.model-info", method="GET", path="/model/info"),
        Case("models.model-info-v1", method="GET", path="/v1/model/info"),
        Case("models.model-info-no-auth", method="GET", path="/model/info", auth=NO_AUTH),
        Case("models.model-group-info", method="GET", path="/model_group/info"),
    ]


def health_cases() -> list[Case]:
    return [
        Case("health.liveliness", method="GET", path="/health/liveliness", auth=NO_AUTH),
        Case("health.liveliness-slash", method="GET", path="/health/liveliness/", auth=NO_AUTH),
        Case("health.liveness", method="GET", path="/health/liveness", auth=NO_AUTH),
        Case("health.readiness", method="GET", path="/health/readiness", auth=NO_AUTH),
        Case("health.readiness-slash", method="GET", path="/health/readiness/", auth=NO_AUTH),
        Case("health.readiness-with-key", method="GET", path="/health/readiness"),
        Case("health.health-no-auth", method="GET", path="/health", auth=NO_AUTH),
        Case("health.test-connection-no-auth", method="POST", path="/health/test_connection", auth=NO_AUTH, json={}),
    ]


def bad_input_cases() -> list[Case]:
    m = "gpt-4o-mini"
    msg = [USER]
    json_type = {"content-type": "application/json"}
    return [
        Case("bad.missing-model", json={"messages": msg}),
        Case("bad.unknown-model", json=chat("no-such-model")),
        Case("bad.model-null", json={"model": None, "messages": msg}),
        Case("bad.model-int", json={"model": 42, "messages": msg}),
        Case("bad.model-empty", json={"model": "", "messages": msg}),
        Case("bad.missing-messages", json={"model": m}),
        Case("bad.messages-empty", json={"model": m, "messages": []}),
        Case("bad.messages-object", json={"model": m, "messages": {"role": "user", "content": "hi"}}),
        Case("bad.messages-string", json={"model": m, "messages": "hi"}),
        Case("bad.message-null-entry", json={"model": m, "messages": [None]}),
        Case("bad.message-no-role", json={"model": m, "messages": [{"content": "hi"}]}),
        Case("bad.message-unknown-role", json={"model": m, "messages": [{"role": "wizard", "content": "hi"}]}),
        Case("bad.message-content-int", json={"model": m, "messages": [{"role": "user", "content": 5}]}),
        Case("bad.stream-string", json=chat(m, stream="yes")),
        Case("bad.temperature-string", json=chat(m, temperature="hot")),
        Case("bad.max-tokens-negative", json=chat(m, max_tokens=-1)),
        Case("bad.tools-not-list", json=chat(m, tools={"type": "function"})),
        Case("bad.invalid-json", content=b'{"model": "gpt-4o-mini", "messages": [', headers=json_type),
        Case("bad.empty-body", content=b"", headers=json_type),
        Case("bad.body-array", json=[1, 2]),
        Case("bad.body-string", content=b'"hello"', headers=json_type),
        Case("bad.binary-body", content=bytes(range(256)), headers=json_type),
        Case("bad.text-plain", content=b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}', headers={"content-type": "text/plain"}),
        Case("bad.no-content-type", content=b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'),
        Case("bad.get-chat", method="GET", path="/v1/chat/completions"),
        Case("bad.unknown-route", method="GET", path="/v1/nothing-here"),
        Case("bad.unknown-route-post", path="/v1/nothing-here", json={}),
        Case("auth.none", json=chat(m), auth=NO_AUTH),
        Case("auth.wrong-key", json=chat(m), auth=WRONG_KEY),
        Case("auth.basic-scheme", json=chat(m), auth=NO_AUTH, headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        Case("auth.bearer-empty", json=chat(m), auth=NO_AUTH, headers={"Authorization": "Bearer"}),
        Case("auth.no-sk-prefix", json=chat(m), auth=NO_AUTH, headers={"Authorization": "Bearer not-a-key"}),
        Case("auth.x-litellm-api-key", json=chat(m), auth=MASTER, auth_header="x-litellm-api-key"),
        Case("auth.api-key-header", json=chat(m), auth=MASTER, auth_header="api-key"),
        Case("auth.x-api-key-header", json=chat(m), auth=MASTER, auth_header="x-api-key"),
        Case("auth.wrong-key-embeddings", path="/v1/embeddings", json={"model": "embed", "input": "hi"}, auth=WRONG_KEY),
    ]


def no_database_cases() -> list[Case]:
    """What LiteLLM serves with a master key and no DATABASE_URL. Tollgate always has its
    database (SQLite by default), so these differ on purpose; DATABASE_ROUTES.md says where
    LiteLLM's shapes for the database-backed answers come from."""
    return [
        Case("nodb.key-generate", path="/key/generate", json={"models": ["gpt-4o-mini"]}),
        Case("nodb.key-info", method="GET", path="/key/info?key=sk-unknown"),
        Case("nodb.key-list", method="GET", path="/key/list"),
        Case("nodb.key-delete-post", path="/key/delete", json={"keys": ["sk-unknown"]}),
        Case("nodb.key-delete-method-delete", method="DELETE", path="/key/delete", json={"keys": ["sk-unknown"]}),
        Case("nodb.team-new", path="/team/new", json={"team_alias": "compat"}),
        Case("nodb.user-new", path="/user/new", json={"user_email": "a@example.com"}),
        Case("nodb.spend-logs", method="GET", path="/spend/logs"),
        Case("nodb.global-spend", method="GET", path="/global/spend"),
        Case("nodb.key-generate-no-auth", path="/key/generate", json={}, auth=NO_AUTH),
    ]


def all_cases() -> list[Case]:
    cases = (
        chat_cases()
        + provider_error_cases()
        + routing_cases()
        + embedding_cases()
        + completion_cases()
        + model_cases()
        + health_cases()
        + bad_input_cases()
        + no_database_cases()
    )
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate case ids in the catalogue: {dupes}")
    return cases


CASES = all_cases()
