"""/v1/embeddings and /v1/completions go through the router like chat: retries to
another deployment, cooldowns, fallbacks, attempt headers."""

from __future__ import annotations

from expect import assert_openai_error
from routing import deployment, post, start, upstream_models


def embed(dp, model: str = "emb", **extra):
    return post(dp, {"model": model, "input": "route me", **extra}, path="/v1/embeddings")


def complete(dp, model: str = "text", **extra):
    return post(dp, {"model": model, "prompt": "route me", **extra}, path="/v1/completions")


def config(mock):
    return [
        deployment("emb", "openai/mock-500", mock, "emb-broken", order=1),
        deployment("emb", "openai/text-embedding-3-small", mock, "emb-ok", order=2),
        deployment("emb-down", "openai/mock-429", mock, "emb-down"),
        deployment("emb-backup", "openai/text-embedding-3-large", mock, "emb-backup"),
        deployment("text", "openai/mock-500", mock, "text-broken", order=1),
        deployment("text", "openai/gpt-3.5-turbo-instruct", mock, "text-ok", order=2),
        deployment("text-down", "openai/mock-429", mock, "text-down"),
        deployment("text-backup", "openai/davinci-002", mock, "text-backup"),
    ]


def test_embeddings_retry_cool_down_and_fall_back(cluster, mock_provider):
    dp = start(
        cluster,
        config(mock_provider),
        {"num_retries": 1, "cooldown_time": 60, "fallbacks": [{"emb-down": ["emb-backup"]}]},
    )
    mock_provider.clear()
    first = embed(dp)
    assert first.status_code == 200, first.text
    assert first.headers["x-litellm-model-id"] == "emb-ok"
    assert first.headers["x-litellm-attempted-retries"] == "1"
    assert len(first.json()["data"]) == 1
    second = embed(dp)
    assert second.headers["x-litellm-model-id"] == "emb-ok"
    assert second.headers["x-litellm-attempted-retries"] == "0", "the broken one is cooling down"
    assert upstream_models(mock_provider, "/embeddings").count("mock-500") == 1

    fell = embed(dp, "emb-down")
    assert fell.status_code == 200, fell.text
    assert fell.headers["x-litellm-model-group"] == "emb-backup"
    assert fell.headers["x-litellm-attempted-fallbacks"] == "1"

    off = embed(dp, "emb-down", disable_fallbacks=True)
    assert_openai_error(off, 429)
    assert off.headers["x-litellm-attempted-fallbacks"] == "0"


def test_text_completions_retry_cool_down_and_fall_back(cluster, mock_provider):
    dp = start(
        cluster,
        config(mock_provider),
        {"num_retries": 1, "cooldown_time": 60, "fallbacks": [{"text-down": ["text-backup"]}]},
    )
    mock_provider.clear()
    first = complete(dp)
    assert first.status_code == 200, first.text
    assert first.headers["x-litellm-model-id"] == "text-ok"
    assert first.headers["x-litellm-attempted-retries"] == "1"
    assert first.json()["object"] == "text_completion"
    assert complete(dp).headers["x-litellm-attempted-retries"] == "0"
    assert upstream_models(mock_provider, "/completions").count("mock-500") == 1

    client = dp.openai_client()
    stream = client.completions.create(model="text-down", prompt="route me", stream=True)
    text = "".join(choice.text for chunk in stream for choice in chunk.choices)
    assert text, "the fallback streamed an answer"
    assert upstream_models(mock_provider, "/completions")[-1] == "davinci-002"
