"""`/v1/images/generations` with the `openai` SDK: OpenAI-format and Azure deployments, priced per
image (`output_cost_per_image`), with key and budget refusals, a fallback and bad input."""

from __future__ import annotations

import base64

import openai
import pytest

from expect import assert_openai_error
from unit_priced import PICOS, charged, deployment, new_key, post, start

PER_IMAGE = 40_000_000_000  # $0.04
PER_IMAGE_AZURE = 20_000_000_000  # $0.02


@pytest.fixture
def c(cluster, mock_provider):
    mock = mock_provider
    return start(
        cluster,
        [
            deployment("dalle", "openai/dall-e-3", mock.api_base, output_cost_per_image=PER_IMAGE / PICOS),
            deployment(
                "dalle-azure", "azure/my-dalle", mock.url, api_version="2024-10-21",
                output_cost_per_image=PER_IMAGE_AZURE / PICOS,
            ),
            deployment("dalle-down", "openai/mock-429", mock.api_base),
        ],
        fallbacks=[{"dalle-down": ["dalle"]}],
    )


def test_openai_and_azure_images_are_priced_per_image(c, mock_provider, pg_url):
    client = c.dps[0].openai_client(api_key=new_key(c))
    mock_provider.clear()
    raw = client.images.with_raw_response.generate(model="dalle", prompt="a red fox", n=2, response_format="b64_json")
    images = raw.parse()
    assert [base64.b64decode(d.b64_json).decode() for d in images.data] == ["image 1 of: a red fox", "image 2 of: a red fox"]
    [sent] = [r for r in mock_provider.requests() if r["path"] == "/v1/images/generations"]
    assert sent["body"] == {"model": "dall-e-3", "prompt": "a red fox", "n": 2, "response_format": "b64_json"}
    assert sent["headers"]["authorization"] == f"Bearer {c.provider_key}"
    assert float(raw.headers["x-litellm-response-cost"]) == pytest.approx(2 * PER_IMAGE / PICOS)
    row = charged(pg_url, raw.headers["x-litellm-call-id"])
    assert (row["spend_picos"], row["call_type"], row["model_group"], row["status"]) == (
        2 * PER_IMAGE, "aimage_generation", "dalle", "success"
    ), row

    raw = c.dps[1].openai_client(api_key=client.api_key).images.with_raw_response.generate(
        model="dalle-azure", prompt="a blue fox", response_format="url"
    )
    assert raw.parse().data[0].url == "https://mock.invalid/my-dalle/1.png"
    [sent] = [r for r in mock_provider.requests() if "/images/generations" in r["path"] and "deployments" in r["path"]]
    assert sent["path"] == "/openai/deployments/my-dalle/images/generations"
    assert sent["headers"]["api-key"] == c.provider_key
    assert charged(pg_url, raw.headers["x-litellm-call-id"])["spend_picos"] == PER_IMAGE_AZURE


def test_image_refusals_fallback_and_bad_input(c, mock_provider):
    dp = c.dps[0]
    assert_openai_error(post(dp, "/v1/images/generations", key="sk-unknown", json={"model": "dalle", "prompt": "x"}), 401)
    narrow = new_key(c, models=["dalle-azure"])
    assert_openai_error(post(dp, "/v1/images/generations", key=narrow, json={"model": "dalle", "prompt": "x"}), 403)

    broke = new_key(c, max_budget=1e-9)
    assert post(dp, "/v1/images/generations", key=broke, json={"model": "dalle", "prompt": "x"}).status_code == 200
    r = post(c.dps[1], "/v1/images/generations", key=broke, json={"model": "dalle", "prompt": "x"})
    assert_openai_error(r, 429, type="budget_exceeded")

    client = dp.openai_client(api_key=new_key(c))
    raw = client.images.with_raw_response.generate(model="dalle-down", prompt="a fox")
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == "dalle"
    with pytest.raises(openai.RateLimitError):
        client.images.generate(model="dalle-down", prompt="a fox", extra_body={"disable_fallbacks": True})

    for body, param in [
        ({"model": "dalle"}, "prompt"),
        ({"model": "dalle", "prompt": ""}, "prompt"),
        ({"model": "dalle", "prompt": "x", "n": 0}, "n"),
        ({"prompt": "x"}, "model"),
    ]:
        err = assert_openai_error(post(dp, "/v1/images/generations", json=body), 400)
        assert err["param"] == param, (body, err)
