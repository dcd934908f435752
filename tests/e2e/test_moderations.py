"""`/v1/moderations` with the `openai` SDK: relayed to an OpenAI-format deployment, recorded at
$0 (moderations are free) unless the deployment sets a price per request (`input_cost_per_query`),
with a refused key, a budget refusal, a fallback and bad input."""

from __future__ import annotations

import pytest

from expect import assert_openai_error
from unit_priced import charged, deployment, new_key, post, start


@pytest.fixture
def c(cluster, mock_provider):
    mock = mock_provider
    return start(
        cluster,
        [
            deployment("mod", "openai/omni-moderation-latest", mock.api_base),
            deployment("mod-down", "openai/mock-429", mock.api_base),
            deployment("mod-priced", "openai/omni-moderation-latest", mock.api_base, input_cost_per_query=0.001),
        ],
        fallbacks=[{"mod-down": ["mod"]}],
    )


def test_moderations_relay_and_record(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.moderations.with_raw_response.create(model="mod", input=["I will kill the process", "hello"])
    result = raw.parse()
    assert [r.flagged for r in result.results] == [True, False]
    assert result.results[0].categories.violence is True
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/moderations"]
    assert sent["body"] == {"model": "omni-moderation-latest", "input": ["I will kill the process", "hello"]}
    row = charged(pg_url, raw.headers["x-litellm-call-id"])
    assert (row["call_type"], row["status"], row["spend_picos"], row["model_group"]) == ("amoderation", "success", 0, "mod")

    raw = client.moderations.with_raw_response.create(model="mod-down", input="hi")
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1" and raw.headers["x-litellm-model-group"] == "mod"


def test_moderation_refusals_and_bad_input(c):
    dp = c.dps[0]
    assert_openai_error(post(dp, "/v1/moderations", key="sk-unknown", json={"model": "mod", "input": "x"}), 401)
    broke = new_key(c, max_budget=1e-9)
    spent = post(dp, "/v1/moderations", key=broke, json={"model": "mod-priced", "input": "x"})
    assert spent.status_code == 200, spent.text
    assert float(spent.headers["x-litellm-response-cost"]) == 0.001
    r = post(c.dps[1], "/v1/moderations", key=broke, json={"model": "mod-priced", "input": "x"})
    assert_openai_error(r, 429, type="budget_exceeded")
    for body, param in [({"model": "mod"}, "input"), ({"model": "mod", "input": []}, "input"), ({"input": "x"}, "model")]:
        assert assert_openai_error(post(dp, "/v1/moderations", json=body), 400)["param"] == param
