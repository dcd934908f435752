"""`/v1/rerank`, `/rerank` and `/v2/rerank` in Cohere's shape, for Cohere, Jina and an
OpenAI-compatible (vLLM) deployment, priced per query (`input_cost_per_query`) plus the tokens a
provider reports, with a refused key, a budget refusal, a fallback and bad input."""

from __future__ import annotations

import pytest

from expect import assert_openai_error
from unit_priced import PICOS, charged, deployment, new_key, post, start

PER_QUERY = 2_000_000_000  # $0.002
PER_TOKEN = 1_000_000  # $0.000001
DOCS = ["the fox jumps", "a quick brown fox", "nothing here"]


@pytest.fixture
def c(cluster, mock_provider):
    mock = mock_provider
    return start(
        cluster,
        [
            deployment("rerank-cohere", "cohere/rerank-v3.5", mock.url, input_cost_per_query=PER_QUERY / PICOS),
            deployment(
                "rerank-jina", "jina_ai/jina-reranker-v2-base-multilingual", mock.url,
                input_cost_per_query=PER_QUERY / PICOS, input_cost_per_token=PER_TOKEN / PICOS,
            ),
            deployment("rerank-vllm", "hosted_vllm/BAAI/bge-reranker-v2-m3", mock.api_base, input_cost_per_query=PER_QUERY / PICOS),
            deployment("rerank-down", "openai/mock-500", mock.api_base),
        ],
        fallbacks=[{"rerank-down": ["rerank-cohere"]}],
    )


def rerank(dp, path: str = "/v1/rerank", key: str | None = None, **body):
    return post(dp, path, key=key, json={"query": "quick fox", "documents": DOCS, **body})


def test_cohere_jina_and_vllm_answer_in_cohere_shape(c, mock_provider, pg_url):
    key = new_key(c)
    mock_provider.clear()
    r = rerank(c.dps[0], "/v2/rerank", key=key, model="rerank-cohere", top_n=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["index"], x["relevance_score"]) for x in body["results"]] == [(1, 1.0), (0, 0.5)]
    assert body["id"].startswith("rerank-mock-")
    [sent] = [q for q in mock_provider.requests() if q["path"] == "/v2/rerank"]
    assert sent["body"] == {"model": "rerank-v3.5", "query": "quick fox", "documents": DOCS, "top_n": 2}
    assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
    row = charged(pg_url, r.headers["x-litellm-call-id"])
    assert (row["spend_picos"], row["call_type"], row["model_group"]) == (PER_QUERY, "arerank", "rerank-cohere"), row

    r = rerank(c.dps[1], "/rerank", key=key, model="rerank-jina", return_documents=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "results", "meta"}
    assert body["results"][0] == {"index": 1, "relevance_score": 1.0, "document": {"text": "a quick brown fox"}}
    tokens = 2 + 3 + 4 + 2
    assert body["meta"]["billed_units"] == {"total_tokens": tokens}
    assert any(q["path"] == "/v1/rerank" and q["body"]["model"] == "jina-reranker-v2-base-multilingual" for q in mock_provider.requests())
    row = charged(pg_url, r.headers["x-litellm-call-id"])
    assert (row["prompt_tokens"], row["spend_picos"]) == (tokens, PER_QUERY + tokens * PER_TOKEN), row

    r = rerank(c.dps[0], key=key, model="rerank-vllm")
    assert r.status_code == 200, r.text
    assert [x["index"] for x in r.json()["results"]] == [1, 0, 2]
    assert "document" not in r.json()["results"][0]


def test_rerank_refusals_fallback_and_bad_input(c):
    dp = c.dps[0]
    assert_openai_error(rerank(dp, key="sk-unknown", model="rerank-cohere"), 401)
    assert_openai_error(rerank(dp, key=new_key(c, models=["rerank-jina"]), model="rerank-cohere"), 403)
    broke = new_key(c, max_budget=1e-9)
    assert rerank(dp, key=broke, model="rerank-cohere").status_code == 200
    assert_openai_error(rerank(c.dps[1], key=broke, model="rerank-cohere"), 429, type="budget_exceeded")

    fell = rerank(dp, model="rerank-down")
    assert fell.status_code == 200, fell.text
    assert fell.headers["x-litellm-attempted-fallbacks"] == "1"

    for body, param in [
        ({"model": "rerank-cohere", "documents": DOCS}, "query"),
        ({"model": "rerank-cohere", "query": "q"}, "documents"),
        ({"model": "rerank-cohere", "query": "q", "documents": [3]}, "documents[0]"),
        ({"model": "rerank-cohere", "query": "q", "documents": DOCS, "top_n": 0}, "top_n"),
    ]:
        err = assert_openai_error(post(dp, "/v1/rerank", json=body), 400)
        assert err["param"] == param, (body, err)
