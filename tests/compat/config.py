"""The one ``litellm_config.yaml`` both gateways load: every deployment points at the
provider mock, every credential is a literal (the launcher does not pass its
environment through), and nothing in it makes LiteLLM reach the internet."""

from __future__ import annotations

from typing import Any

from components import MOCK_AWS_ACCESS_KEY_ID, MOCK_AWS_SECRET_ACCESS_KEY

PROVIDER_KEY = "sk-compat-provider-0123456789abcdef"
AZURE_API_VERSION = "2024-06-01"
BEDROCK_CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def build(mock_url: str, master_key: str) -> dict[str, Any]:
    openai_base = f"{mock_url}/v1"

    def openai(name: str, model: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": f"openai/{model}", "api_base": openai_base, "api_key": PROVIDER_KEY, **params},
        }

    def native(name: str, model: str, api_base: str, **params: Any) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": model, "api_base": api_base, **params}}

    def azure(name: str, deployment: str) -> dict[str, Any]:
        return native(
            name, f"azure/{deployment}", mock_url, api_key=PROVIDER_KEY, api_version=AZURE_API_VERSION
        )

    def anthropic(name: str, model: str) -> dict[str, Any]:
        return native(name, f"anthropic/{model}", mock_url, api_key=PROVIDER_KEY)

    def gemini(name: str, model: str) -> dict[str, Any]:
        # LiteLLM appends /models/<model>:<method> to a custom api_base; Tollgate accepts
        # a base with or without /v1beta, so this one URL means the same to both.
        return native(name, f"gemini/{model}", f"{mock_url}/v1beta", api_key=PROVIDER_KEY)

    def bedrock(name: str, model: str) -> dict[str, Any]:
        return native(
            name,
            f"bedrock/{model}",
            mock_url,
            aws_access_key_id=MOCK_AWS_ACCESS_KEY_ID,
            aws_secret_access_key=MOCK_AWS_SECRET_ACCESS_KEY,
            aws_region_name="us-east-1",
        )

    model_list = [
        # OpenAI and the OpenAI-compatible paths
        openai("gpt-4o-mini", "gpt-4o-mini"),
        openai("gpt-no-usage", "gpt-no-usage"),
        {"model_name": "local-mock", "litellm_params": {"model": "openai/gpt-4o", "mock_response": "Hello from the mock"}},
        openai("embed", "text-embedding-3-small"),
        openai("instruct", "gpt-3.5-turbo-instruct"),
        # native translations
        azure("azure-gpt", "my-gpt4o"),
        azure("azure-embed", "my-embedding"),
        azure("azure-429", "mock-429"),
        azure("azure-filtered", "mock-content-policy"),
        anthropic("claude", "claude-3-5-sonnet-20241022"),
        anthropic("claude-429", "mock-429"),
        anthropic("claude-long", "mock-context-length"),
        gemini("gemini-flash", "gemini-1.5-flash"),
        gemini("gemini-embed", "text-embedding-004"),
        gemini("gemini-429", "mock-429"),
        gemini("gemini-policy", "mock-content-policy"),
        native("ollama-chat", "ollama_chat/llama3.2", mock_url),
        native("ollama-generate", "ollama/llama3.2", mock_url),
        native("ollama-embed", "ollama/nomic-embed-text", mock_url),
        bedrock("bedrock-claude", BEDROCK_CLAUDE),
        bedrock("bedrock-titan-embed", "amazon.titan-embed-text-v2:0"),
        bedrock("bedrock-429", "mock-429"),
        bedrock("bedrock-long", "mock-context-length"),
        # failures by model name
        openai("rate-limited", "mock-429"),
        openai("server-error", "mock-500"),
        openai("context-too-long", "mock-context-length"),
        openai("content-policy", "mock-content-policy"),
        # routing: a retried deployment, every kind of fallback, cooldowns, timeouts
        openai("flaky", "flaky-model"),
        openai("fb-primary", "mock-500"),
        openai("fb-chain", "mock-500"),
        openai("cw-primary", "mock-context-length"),
        openai("cp-primary", "mock-content-policy"),
        openai("cool-pair", "cool-model"),
        openai("cool-pair", "cool-model"),
        openai("slow", "mock-slow-3000", timeout=1),
        openai("slow-stream", "mock-slow-3000", stream_timeout=1),
        openai("slow-ok", "mock-slow-200"),
    ]
    return {
        "model_list": model_list,
        "router_settings": {
            # Small and fixed, so every failure case makes a known number of calls
            # quickly on both (LiteLLM's proxy waits between retries otherwise).
            "num_retries": 1,
            "retry_after": 0,
            "cooldown_time": 60,
            "fallbacks": [{"fb-primary": ["gpt-4o-mini"]}, {"fb-chain": ["server-error", "gpt-4o-mini"]}],
            "context_window_fallbacks": [{"cw-primary": ["gpt-4o-mini"]}],
            "content_policy_fallbacks": [{"cp-primary": ["gpt-4o-mini"]}],
        },
        "litellm_settings": {"telemetry": False, "drop_params": False},
        "general_settings": {"master_key": master_key},
    }
