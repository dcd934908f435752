"""Embeddings (`/v1/embeddings`) through a data plane, for each provider that has them,
as floats and as base64 (which the OpenAI SDK decodes itself)."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from components import bedrock_deployment
from expect import assert_openai_error


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def mock_vector(text: str, dimensions: int = 8) -> list[float]:
    """The mock provider's deterministic vector for ``text`` (tests/mock-provider/src/reply.rs)."""
    mask = (1 << 64) - 1
    seed = 0xCBF29CE484222325
    for byte in text.encode():
        seed = ((seed ^ byte) * 0x100000001B3) & mask

    def splitmix64(x: int) -> int:
        x = (x + 0x9E3779B97F4A7C15) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    vector = [_f32((splitmix64((seed + i) & mask) >> 40) / (1 << 24) * 2.0 - 1.0) for i in range(dimensions)]
    norm = 0.0
    for x in vector:
        norm = _f32(norm + _f32(x * x))
    norm = _f32(math.sqrt(norm))
    return [_f32(x / norm) for x in vector] if norm > 0 else vector


def assert_vector(got: list[float], text: str, dimensions: int = 8) -> None:
    want = mock_vector(text, dimensions)
    assert len(got) == len(want), f"{len(got)} dimensions, expected {len(want)}"
    assert all(abs(g - w) <= 1e-6 for g, w in zip(got, want, strict=True)), f"{got} != {want}"


def _deployment(name: str, model: str, **params):
    return {"model_name": name, "litellm_params": {"model": model, **params}}


def _config(c):
    config = dict(c.config)
    key = "os.environ/MOCK_PROVIDER_KEY"
    config["model_list"] = [
        *c.config["model_list"],
        _deployment("embed-openai", "openai/text-embedding-3-small", api_base=c.mock.api_base, api_key=key),
        _deployment("embed-mistral", "mistral/mistral-embed", api_base=c.mock.api_base, api_key=key),
        _deployment("embed-429", "openai/mock-429", api_base=c.mock.api_base, api_key=key),
        bedrock_deployment(c.mock, "embed-titan", "amazon.titan-embed-text-v2:0"),
        bedrock_deployment(c.mock, "embed-cohere", "cohere.embed-english-v3"),
        _deployment("embed-ollama", "ollama/nomic-embed-text", api_base=c.mock.url),
        _deployment("embed-ollama-429", "ollama/mock-429", api_base=c.mock.url),
        _deployment("chat-anthropic", "anthropic/claude-3-5-haiku-latest", api_base=c.mock.url, api_key=key),
        _deployment("embed-azure", "azure/my-embedder", api_base=c.mock.url, api_key=key, api_version="2024-10-21"),
        _deployment("embed-gemini", "gemini/text-embedding-004", api_base=c.mock.url, api_key=key),
    ]
    return config


@pytest.fixture
def dp(cluster):
    c = cluster(data_planes=0, start=False)
    c.write_config(_config(c))
    c.cp.start()
    dp = c.add_data_plane()
    dp.cluster = c
    return dp


@pytest.mark.parametrize("model", ["embed-openai", "embed-mistral"])
def test_openai_format_embeddings_float_and_base64(dp, mock_provider, model):
    client = dp.openai_client()
    c = dp.cluster

    resp = client.embeddings.create(model=model, input=["hello world", "second input"], encoding_format="float")
    assert resp.object == "list"
    assert [d.index for d in resp.data] == [0, 1]
    assert_vector(resp.data[0].embedding, "hello world")
    assert_vector(resp.data[1].embedding, "second input")
    assert (resp.usage.prompt_tokens, resp.usage.total_tokens) == (4, 4)

    # the SDK asks for base64 by default and decodes it
    resp = client.embeddings.create(model=model, input="hello world", dimensions=4)
    assert_vector(resp.data[0].embedding, "hello world", 4)

    # raw base64 is little-endian f32
    with dp.http() as http:
        r = http.post(
            "/v1/embeddings",
            json={"model": model, "input": "hello world", "encoding_format": "base64"},
            headers=dp.auth_headers(),
        )
    assert r.status_code == 200, r.text
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    assert_vector(list(struct.unpack(f"<{len(raw) // 4}f", raw)), "hello world")

    sent = [r for r in mock_provider.requests() if r["path"].endswith("/embeddings")]
    assert [r["path"] for r in sent] == ["/v1/embeddings"] * 3
    assert all(r["headers"].get("authorization") == f"Bearer {c.provider_key}" for r in sent)
    assert sent[0]["body"] == {
        "model": {"embed-openai": "text-embedding-3-small", "embed-mistral": "mistral-embed"}[model],
        "input": ["hello world", "second input"],
        "encoding_format": "float",
    }


def test_bedrock_titan_embeddings(dp, mock_provider):
    client = dp.openai_client()
    resp = client.embeddings.create(model="embed-titan", input=["hello world", "second input"], encoding_format="float")
    assert resp.model == "embed-titan"
    assert [d.index for d in resp.data] == [0, 1]
    assert_vector(resp.data[0].embedding, "hello world")
    assert_vector(resp.data[1].embedding, "second input")
    assert (resp.usage.prompt_tokens, resp.usage.total_tokens) == (4, 4)

    # base64 (the SDK default) is encoded by the gateway from Titan's floats
    resp = client.embeddings.create(model="embed-titan", input="hello world", dimensions=4)
    assert_vector(resp.data[0].embedding, "hello world", 4)

    sent = [r for r in mock_provider.requests() if r["path"].startswith("/model/")]
    # Titan embeds one text per call
    assert [r["path"] for r in sent] == ["/model/amazon.titan-embed-text-v2%3A0/invoke"] * 3
    assert [r["body"] for r in sent] == [
        {"inputText": "hello world"},
        {"inputText": "second input"},
        {"inputText": "hello world", "dimensions": 4},
    ]
    assert all(r["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=") for r in sent)


def test_bedrock_cohere_embeddings(dp, mock_provider):
    client = dp.openai_client()
    resp = client.embeddings.create(model="embed-cohere", input=["hello world", "second input"])
    assert_vector(resp.data[0].embedding, "hello world")
    assert_vector(resp.data[1].embedding, "second input")
    assert resp.usage.prompt_tokens == 4, "from Bedrock's token-count header"
    [sent] = [r for r in mock_provider.requests() if r["path"].startswith("/model/")]
    assert sent["path"] == "/model/cohere.embed-english-v3/invoke"
    assert sent["body"] == {"texts": ["hello world", "second input"], "input_type": "search_document"}

    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="embed-cohere", input="x", dimensions=4)
    assert assert_openai_error(exc.value.response, 400)["param"] == "dimensions"
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="embed-cohere", input=[[1, 2, 3]])
    assert assert_openai_error(exc.value.response, 400)["param"] == "input"


def test_ollama_embeddings(dp, mock_provider):
    client = dp.openai_client()
    resp = client.embeddings.create(
        model="embed-ollama", input=["hello world", "second input"], encoding_format="float"
    )
    assert resp.model == "embed-ollama"
    assert_vector(resp.data[0].embedding, "hello world")
    assert_vector(resp.data[1].embedding, "second input")
    assert resp.usage.prompt_tokens == 4, "from prompt_eval_count"
    resp = client.embeddings.create(model="embed-ollama", input="hello world", dimensions=4)  # base64 via the SDK
    assert_vector(resp.data[0].embedding, "hello world", 4)
    sent = [r for r in mock_provider.requests() if r["path"] == "/api/embed"]
    assert [r["body"] for r in sent] == [
        {"model": "nomic-embed-text", "input": ["hello world", "second input"]},
        {"model": "nomic-embed-text", "input": ["hello world"], "dimensions": 4},
    ]

    with pytest.raises(openai.RateLimitError) as exc:
        client.embeddings.create(model="embed-ollama-429", input="hi")
    assert "too many requests" in assert_openai_error(exc.value.response, 429)["message"]


def test_azure_embeddings(dp, mock_provider):
    c = dp.cluster
    client = dp.openai_client()
    resp = client.embeddings.create(model="embed-azure", input=["hello world"], encoding_format="float")
    assert_vector(resp.data[0].embedding, "hello world")
    resp = client.embeddings.create(model="embed-azure", input="hello world")  # base64, decoded by the SDK
    assert_vector(resp.data[0].embedding, "hello world")
    sent = [r for r in mock_provider.requests() if "/embeddings" in r["path"]]
    assert [r["path"] for r in sent] == ["/openai/deployments/my-embedder/embeddings"] * 2
    assert all(r["query"] == "api-version=2024-10-21" for r in sent)
    assert all(r["headers"].get("api-key") == c.provider_key and "authorization" not in r["headers"] for r in sent)


def test_gemini_embeddings(dp, mock_provider):
    c = dp.cluster
    client = dp.openai_client()
    resp = client.embeddings.create(model="embed-gemini", input=["hello world", "second input"], encoding_format="float")
    assert [d.index for d in resp.data] == [0, 1]
    assert_vector(resp.data[0].embedding, "hello world")
    assert_vector(resp.data[1].embedding, "second input")
    # Gemini reports no token counts: words, as documented.
    assert resp.usage.prompt_tokens == 4
    resp = client.embeddings.create(model="embed-gemini", input="hello world", dimensions=4)
    assert_vector(resp.data[0].embedding, "hello world", 4)
    sent = [r for r in mock_provider.requests() if r["path"].endswith(":batchEmbedContents")]
    assert [r["path"] for r in sent] == ["/v1beta/models/text-embedding-004:batchEmbedContents"] * 2
    assert all(r["headers"].get("x-goog-api-key") == c.provider_key for r in sent)
    assert c.provider_key not in (sent[0]["query"] or "")
    assert sent[0]["body"] == {
        "requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello world"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "second input"}]}},
        ]
    }
    assert sent[1]["body"]["requests"][0]["outputDimensionality"] == 4


def test_embeddings_errors(dp, mock_provider):
    client = dp.openai_client()
    with dp.http() as http:
        r = http.post("/v1/embeddings", json={"model": "embed-openai"}, headers=dp.auth_headers())
        err = assert_openai_error(r, 400, type="invalid_request_error")
        assert err["param"] == "input"
        r = http.post(
            "/embeddings",
            json={"model": "embed-openai", "input": "x", "encoding_format": "hex"},
            headers=dp.auth_headers(),
        )
        assert_openai_error(r, 400, type="invalid_request_error")
    assert mock_provider.requests() == []

    # a provider without embeddings: a 400 naming it, nothing sent
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="chat-anthropic", input="hi")
    assert "anthropic" in assert_openai_error(exc.value.response, 400)["message"]
    assert mock_provider.requests() == []

    with pytest.raises(openai.RateLimitError) as exc:
        client.embeddings.create(model="embed-429", input="hi")
    assert exc.value.response.headers.get("retry-after") == "1"

    with pytest.raises(openai.AuthenticationError):
        dp.openai_client(api_key="sk-wrong").embeddings.create(model="embed-openai", input="hi")


def test_embedding_cost_is_recorded(dp, mock_provider, pg_url):
    from components import pg_connect
    from harness import wait_until

    resp = dp.openai_client().embeddings.create(model="embed-openai", input=["hello world", "second input"])
    tokens = resp.usage.prompt_tokens
    assert tokens == 4

    def row():
        with pg_connect(pg_url) as conn:
            return conn.execute(
                "SELECT spend_picos, cost_known FROM spend_logs WHERE call_type = 'aembedding'"
            ).fetchone()

    spend_picos, cost_known = wait_until(row, timeout=10, desc="the embedding's usage record")
    # text-embedding-3-small: $0.02 per million tokens = 20,000 picodollars per token.
    assert cost_known is True and spend_picos == tokens * 20_000
