"""LiteLLM's own deployment settings (`num_retries`, `timeout`, `tags`, prices, …) never reach a
provider, for every provider and endpoint, while real provider parameters still do; and the
settings with behaviour (`num_retries`, `timeout`, `stream_timeout`) act per deployment.

The list of settings is `shared/src/config/settings.rs`; this file sets a wide sample of it on
every deployment and reads back what the mock provider received."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from components import bedrock_deployment
from expect import assert_openai_error

KEY = "os.environ/MOCK_PROVIDER_KEY"

# Values carry "sentinel" where they are strings, so a leak shows in a body, header or query
# however it is spelled there. Every key here is LiteLLM's own (see settings.rs); none changes
# which provider is called or how it authenticates.
LITELLM_SETTINGS: dict[str, Any] = {
    "num_retries": 0,
    "max_retries": 0,
    "timeout": 30,
    "stream_timeout": 30,
    "rpm": 10_000,
    "tpm": 100_000_000,
    "weight": 1,
    "order": 1,
    "input_cost_per_token": 0.000001,
    "output_cost_per_token": 0.000002,
    "cache_read_input_token_cost": 0.0000001,
    "cache_creation_input_token_cost": 0.0000015,
    "input_cost_per_second": 0.0001,
    "output_cost_per_second": 0.0002,
    "input_cost_per_token_batches": 0.0000005,
    "output_cost_per_token_above_128k_tokens": 0.000004,
    "tags": ["sentinel-tag"],
    "region_name": "sentinel-region",
    "use_in_pass_through": False,
    "merge_reasoning_content_in_choices": False,
    "litellm_credential_name": "sentinel-credential",
    "litellm_trace_id": "sentinel-trace",
    "max_budget": 100,
    "budget_duration": "30d",
    "itpm": 1000,
    "otpm": 1000,
    "default_api_key_tpm_limit": 1000,
    "default_api_key_rpm_limit": 10,
    "cooldown_time": 5,
    "max_parallel_requests": 100,
    "mock_timeout": False,
    "additional_drop_params": ["sentinel-dropped"],
    "configurable_clientside_auth_params": ["api_base"],
    "health_check_timeout": 5,
    "supports_vision": True,
    "base_model": "sentinel-base-model",
    "vertex_project": "sentinel-project",
    "vertex_location": "sentinel-location",
    "aws_role_name": "sentinel-role",
    "aws_profile_name": "sentinel-profile",
    "metadata": {"sentinel": "metadata"},
    "guardrails": ["sentinel-guardrail"],
    "caching": False,
    "cache": {"no-cache": True},
    "model_info": {"sentinel": "model-info"},
    # drop_params: false keeps every translation strict: a leaked key would be refused with a
    # 400 ("parameter ... is not supported") instead of being dropped silently.
    "drop_params": False,
}

# Delivered by design, in the provider's own form (URL, auth header, api-version query).
DELIVERED = {"model", "api_key", "api_base", "api_version", "organization"}


# Provider parameters set on the deployment that must arrive: a body parameter, a header, and
# (OpenAI's wire format only: translated providers refuse keys they do not know) a body extra.
PROVIDER_DEFAULTS: dict[str, Any] = {"temperature": 0.3, "extra_headers": {"X-Deployment-Extra": "arrives"}}
OPENAI_FORMAT_DEFAULTS: dict[str, Any] = {**PROVIDER_DEFAULTS, "extra_body": {"seed": 7}}


def chat_deployment(
    name: str, model: str, defaults: dict[str, Any] | None = None, **params: Any
) -> dict[str, Any]:
    defaults = PROVIDER_DEFAULTS if defaults is None else defaults
    return {"model_name": name, "litellm_params": {"model": model, **params, **LITELLM_SETTINGS, **defaults}}


def embedding_deployment(name: str, model: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": model, **params, **LITELLM_SETTINGS}}


def with_settings(deployment: dict[str, Any], **extra: Any) -> dict[str, Any]:
    deployment["litellm_params"].update(LITELLM_SETTINGS, **extra)
    return deployment


def leak_config(c) -> dict[str, Any]:
    m = c.mock
    return {
        "model_list": [
            chat_deployment("s-openai", "openai/gpt-4o-mini", OPENAI_FORMAT_DEFAULTS, api_base=m.api_base, api_key=KEY),
            chat_deployment(
                "s-azure",
                "azure/my-gpt4o",
                OPENAI_FORMAT_DEFAULTS,
                api_base=m.url,
                api_key=KEY,
                api_version="2024-10-21",
            ),
            chat_deployment("s-anthropic", "anthropic/claude-3-5-haiku-latest", api_base=m.url, api_key=KEY),
            chat_deployment("s-gemini", "gemini/gemini-2.0-flash", api_base=m.url, api_key=KEY),
            chat_deployment("s-ollama", "ollama/llama3.2", api_base=m.url),
            with_settings(
                bedrock_deployment(m, "s-bedrock", "anthropic.claude-3-haiku-20240307-v1:0"), **PROVIDER_DEFAULTS
            ),
            chat_deployment(
                "s-instruct", "openai/gpt-3.5-turbo-instruct", OPENAI_FORMAT_DEFAULTS, api_base=m.api_base, api_key=KEY
            ),
            embedding_deployment("e-openai", "openai/text-embedding-3-small", api_base=m.api_base, api_key=KEY),
            embedding_deployment(
                "e-azure", "azure/my-embedder", api_base=m.url, api_key=KEY, api_version="2024-10-21"
            ),
            embedding_deployment("e-gemini", "gemini/text-embedding-004", api_base=m.url, api_key=KEY),
            embedding_deployment("e-ollama", "ollama/nomic-embed-text", api_base=m.url),
            with_settings(bedrock_deployment(m, "e-bedrock", "amazon.titan-embed-text-v2:0")),
        ],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": c.master_key},
    }


@pytest.fixture
def dp(cluster):
    c = cluster(data_planes=0, start=False)
    c.write_config(leak_config(c))
    c.cp.start()
    dp = c.add_data_plane()
    dp.cluster = c
    return dp


def json_keys(value: Any) -> set[str]:
    """Every object key at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in json_keys(v)}
    return set()


def assert_no_setting_reached(sent: dict[str, Any]) -> None:
    """Neither a setting's name nor a sentinel value anywhere in what the provider received."""
    settings = set(LITELLM_SETTINGS) - DELIVERED
    body = sent["body"] if sent["body"] is not None else {}
    raw = sent["raw_body"] or json.dumps(body)
    leaked_keys = json_keys(body) & settings
    assert not leaked_keys, f"{sent['path']}: settings in the body: {sorted(leaked_keys)}: {raw}"
    assert "sentinel" not in raw and "sentinel" not in json.dumps(body), f"{sent['path']}: a setting's value: {raw}"
    header_names = {name.lower() for name in sent["headers"]}
    spelled = {s for k in settings for s in (k, k.replace("_", "-"))}
    assert not header_names & spelled, f"{sent['path']}: settings as headers: {header_names & spelled}"
    assert "sentinel" not in json.dumps(sent["headers"]), f"{sent['path']}: a setting's value in headers"
    query = sent["query"] or ""
    params = {pair.split("=", 1)[0] for pair in query.split("&") if pair}
    assert not params & settings, f"{sent['path']}: settings in the query: {query}"
    assert "sentinel" not in query, f"{sent['path']}: a setting's value in the query: {query}"


def provider_temperature(sent: dict[str, Any]) -> Any:
    """Where each provider's wire format carries `temperature`."""
    body = sent["body"]
    for container in ("generationConfig", "options", "inferenceConfig"):
        if container in body:
            return body[container].get("temperature")
    return body.get("temperature")


CHAT_CASES = [
    ("s-openai", "/v1/chat/completions"),
    ("s-azure", "/openai/deployments/my-gpt4o/chat/completions"),
    ("s-anthropic", "/v1/messages"),
    ("s-gemini", "/v1beta/models/gemini-2.0-flash:"),
    ("s-ollama", "/api/chat"),
    ("s-bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"),
]
OPENAI_FORMAT = {"s-openai", "s-azure"}


def assert_provider_defaults_arrived(sent: dict[str, Any], *, openai_format: bool) -> None:
    assert provider_temperature(sent) == 0.3, f"the deployment's temperature did not arrive: {sent['body']}"
    assert sent["headers"].get("x-deployment-extra") == "arrives", f"extra_headers did not arrive: {sent['headers']}"
    assert "extra_headers" not in sent["body"] and "extra_body" not in sent["body"], sent["body"]
    if openai_format:
        assert sent["body"]["seed"] == 7, f"extra_body's keys did not join the body: {sent['body']}"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "path"), CHAT_CASES, ids=[m for m, _ in CHAT_CASES])
def test_chat_sends_no_setting_and_keeps_provider_parameters(dp, mock_provider, model, path, stream):
    body = {"model": model, "messages": [{"role": "user", "content": "hello settings"}], "max_tokens": 20}
    if stream:
        body["stream"] = True
    with dp.http() as h:
        r = h.post("/v1/chat/completions", json=body, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    if stream:
        assert r.text.rstrip().endswith("data: [DONE]"), r.text[-200:]
    [sent] = [q for q in mock_provider.requests() if q["path"].startswith(path)]
    assert_no_setting_reached(sent)
    assert_provider_defaults_arrived(sent, openai_format=model in OPENAI_FORMAT)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_completions_send_no_setting(dp, mock_provider, stream):
    body = {"model": "s-instruct", "prompt": "Say hi", "max_tokens": 5, "stream": stream}
    with dp.http() as h:
        r = h.post("/v1/completions", json=body, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    [sent] = [q for q in mock_provider.requests() if q["path"] == "/v1/completions"]
    assert_no_setting_reached(sent)
    assert_provider_defaults_arrived(sent, openai_format=True)
    assert sent["body"]["max_tokens"] == 5


EMBEDDING_CASES = [
    ("e-openai", "/v1/embeddings"),
    ("e-azure", "/openai/deployments/my-embedder/embeddings"),
    ("e-gemini", "/v1beta/models/text-embedding-004:"),
    ("e-ollama", "/api/embed"),
    ("e-bedrock", "/model/amazon.titan-embed-text-v2%3A0/invoke"),
]


@pytest.mark.parametrize(("model", "path"), EMBEDDING_CASES, ids=[m for m, _ in EMBEDDING_CASES])
def test_embeddings_send_no_setting(dp, mock_provider, model, path):
    with dp.http() as h:
        r = h.post(
            "/v1/embeddings",
            json={"model": model, "input": ["hello settings"], "encoding_format": "float"},
            headers=dp.auth_headers(),
        )
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 1
    [sent] = [q for q in mock_provider.requests() if q["path"].startswith(path)]
    assert_no_setting_reached(sent)


def test_request_level_litellm_keys_do_not_reach_the_provider(dp, mock_provider):
    """A client's LiteLLM-only keys (routing controls, logging, cache, proxy bookkeeping) stay
    in the gateway; its provider parameters go on."""
    body = {
        "model": "s-gemini",
        "messages": [{"role": "user", "content": "hi"}],
        "top_p": 0.5,
        "num_retries": 0,
        "max_retries": 0,
        "timeout": 30,
        "fallbacks": [],
        "context_window_fallbacks": [],
        "metadata": {"sentinel": "request-metadata"},
        "tags": ["sentinel-request-tag"],
        "caching": False,
        "cache": {"no-cache": True},
        "litellm_trace_id": "sentinel-request-trace",
        "litellm_session_id": "sentinel-session",
        "user_api_key_alias": "sentinel-alias",
        "mock_testing_fallbacks": False,
        "disable_fallbacks": True,
        "guardrails": ["sentinel-guardrail"],
        "langfuse_public_key": "sentinel-langfuse",
    }
    with dp.http() as h:
        r = h.post("/v1/chat/completions", json=body, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    [sent] = [q for q in mock_provider.requests() if q["path"].startswith("/v1beta/models/")]
    raw = json.dumps(sent["body"])
    request_only = set(body) - {"model", "messages", "top_p"}
    assert not json_keys(sent["body"]) & request_only, raw
    assert "sentinel" not in raw, raw
    assert sent["body"]["generationConfig"]["topP"] == 0.5


# --------------------------------------------------------------------- retries and timeouts

SLOW_MS = 3000


def timing_config(c) -> dict[str, Any]:
    m = c.mock

    def slow(name: str, delay_ms: int, **params: Any) -> dict[str, Any]:
        params = {"model": f"openai/mock-slow-{delay_ms}", "api_base": m.api_base, "api_key": KEY, **params}
        return {"model_name": name, "litellm_params": params}

    return {
        "model_list": [
            # The deployment: one attempt, then a 408, though the router would retry 3 times.
            slow("one-shot", SLOW_MS, timeout=0.5, num_retries=0),
            slow("one-shot-stream", SLOW_MS + 1, timeout=30, stream_timeout=0.5, num_retries=0),
            # Retried twice on its own word, though the router retries nothing.
            slow("thrice", SLOW_MS + 2, timeout=0.3, num_retries=2),
            # No own num_retries: the router's count applies.
            slow("router-count", SLOW_MS + 3, timeout=0.3),
            # A generous deployment, for the request's own `timeout` / `stream_timeout`.
            slow("per-request", SLOW_MS + 4, timeout=30, stream_timeout=30, num_retries=0),
            # A strict deployment (0.3 s) that answers after 1 s, for a request that allows more.
            slow("strict", 1000, timeout=0.3, stream_timeout=0.3, num_retries=0),
        ],
        "router_settings": {"num_retries": 3},
        "general_settings": {"master_key": c.master_key},
    }


@pytest.fixture
def timing(cluster):
    c = cluster(data_planes=0, start=False)
    c.write_config(timing_config(c))
    c.cp.start()
    dp = c.add_data_plane()
    dp.cluster = c
    return dp


def attempts(mock_provider, delay_ms: int) -> int:
    return sum(1 for q in mock_provider.chat_requests() if q["body"]["model"] == f"mock-slow-{delay_ms}")


def post_chat(dp, model: str, *, stream: bool = False, **extra: Any) -> tuple[httpx.Response, float]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream, **extra}
    with dp.http(timeout=20) as h:
        started = time.monotonic()
        r = h.post("/v1/chat/completions", json=body, headers=dp.auth_headers())
        return r, time.monotonic() - started


def test_timeout_with_num_retries_0_is_one_attempt_and_a_408_within_a_second(timing, mock_provider):
    r, elapsed = post_chat(timing, "one-shot")
    err = assert_openai_error(r, 408, code="408")
    assert "timed out after 0.5s" in err["message"], err
    assert "timeout" in err["message"] and "raise" in err["message"], "the message says what to do"
    assert elapsed < 1.0, f"answered after {elapsed:.2f}s; the deployment's timeout is 0.5s"
    assert elapsed >= 0.45, f"answered after {elapsed:.2f}s, before the timeout"
    assert attempts(mock_provider, SLOW_MS) == 1, "num_retries: 0 is exactly one attempt"
    assert "num_retries" not in mock_provider.chat_requests()[0]["body"]


def test_stream_timeout_with_num_retries_0_is_one_attempt_and_a_408(timing, mock_provider):
    r, elapsed = post_chat(timing, "one-shot-stream", stream=True)
    assert_openai_error(r, 408, code="408")
    assert elapsed < 1.0, f"answered after {elapsed:.2f}s; the deployment's stream_timeout is 0.5s"
    assert attempts(mock_provider, SLOW_MS + 1) == 1


def test_a_deployments_num_retries_2_is_exactly_three_attempts(timing, mock_provider):
    r, _ = post_chat(timing, "thrice")
    assert_openai_error(r, 408, code="408")
    assert attempts(mock_provider, SLOW_MS + 2) == 3
    assert r.headers["x-litellm-attempted-retries"] == "2", r.headers


def test_without_its_own_num_retries_a_deployment_gets_the_routers(timing, mock_provider):
    r, _ = post_chat(timing, "router-count")
    assert_openai_error(r, 408, code="408")
    assert attempts(mock_provider, SLOW_MS + 3) == 4, "router_settings.num_retries: 3 → four attempts"


def test_a_requests_timeout_governs_the_call(timing, mock_provider):
    """LiteLLM's per-request `timeout` (in the body) wins over the deployment's 30 s: one attempt,
    a 408 after the request's 0.4 s, and the setting never reaches the provider."""
    r, elapsed = post_chat(timing, "per-request", timeout=0.4)
    err = assert_openai_error(r, 408, code="408")
    assert "timed out after 0.4s" in err["message"], err
    assert 0.35 <= elapsed < 1.0, f"answered after {elapsed:.2f}s; the request's timeout is 0.4s"
    assert attempts(mock_provider, SLOW_MS + 4) == 1
    [sent] = mock_provider.chat_requests()
    assert "timeout" not in sent["body"], sent["body"]


def test_a_requests_stream_timeout_governs_the_first_chunk(timing, mock_provider):
    r, elapsed = post_chat(timing, "per-request", stream=True, stream_timeout=0.4)
    assert_openai_error(r, 408, code="408")
    assert 0.35 <= elapsed < 1.0, f"answered after {elapsed:.2f}s; the request's stream_timeout is 0.4s"
    assert attempts(mock_provider, SLOW_MS + 4) == 1


def test_a_requests_timeout_can_allow_more_than_the_deployments(timing, mock_provider):
    """The deployment alone times out after 0.3 s; a request allowing 10 s gets its answer."""
    r, _ = post_chat(timing, "strict")
    assert_openai_error(r, 408, code="408")
    r, elapsed = post_chat(timing, "strict", timeout=10)
    assert r.status_code == 200, r.text
    assert elapsed >= 0.95, f"answered after {elapsed:.2f}s; the mock waits 1 s"
    r, _ = post_chat(timing, "strict", stream=True, request_timeout=10)
    assert r.status_code == 200, r.text
    assert attempts(mock_provider, 1000) == 3


@pytest.mark.parametrize("key,value", [("timeout", "10"), ("timeout", 0), ("request_timeout", -1), ("stream_timeout", [])])
def test_a_malformed_request_timeout_is_a_400_naming_it(timing, mock_provider, key, value):
    r, _ = post_chat(timing, "per-request", **{key: value})
    err = assert_openai_error(r, 400, type="invalid_request_error")
    assert err["param"] == key, err
    assert "positive number of seconds" in err["message"], err
    assert mock_provider.chat_requests() == []
