"""Legacy text completions (`/v1/completions`) through a data plane, streamed and not."""

from __future__ import annotations

import openai
import pytest

from expect import assert_openai_error


def _config(c):
    config = dict(c.config)
    config["model_list"] = [
        *c.config["model_list"],
        {
            "model_name": "instruct",
            "litellm_params": {
                "model": "openai/gpt-3.5-turbo-instruct",
                "api_base": c.mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
            },
        },
        {
            "model_name": "bedrock-no-completions",
            "litellm_params": {
                "model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
                "aws_region_name": "us-east-1",
            },
        },
    ]
    return config


def test_legacy_completions_streamed_and_not(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(_config(c))
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()

    resp = client.completions.create(model="instruct", prompt="say this is a test")
    assert resp.object == "text_completion"
    assert resp.choices[0].text == "Echo: say this is a test"
    assert resp.choices[0].finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (5, 6)

    stream = client.completions.create(
        model="instruct", prompt="stream these words", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(ch.text for chunk in chunks for ch in chunk.choices)
    assert text == "Echo: stream these words"
    assert [ch.finish_reason for chunk in chunks for ch in chunk.choices if ch.finish_reason] == ["stop"]
    usage = [chunk.usage for chunk in chunks if chunk.usage]
    assert len(usage) == 1 and (usage[0].prompt_tokens, usage[0].completion_tokens) == (3, 4)

    # what reached the provider: the legacy path, the model rewritten, the provider key
    sent = [r for r in mock_provider.requests() if r["path"].endswith("/completions")]
    assert [r["path"] for r in sent] == ["/v1/completions", "/v1/completions"]
    assert all(r["headers"].get("authorization") == f"Bearer {c.provider_key}" for r in sent)
    assert sent[0]["body"] == {"model": "gpt-3.5-turbo-instruct", "prompt": "say this is a test"}
    assert sent[1]["body"]["stream"] is True

    # the unprefixed path works too
    with dp.http() as http:
        r = http.post("/completions", json={"model": "instruct", "prompt": "x"}, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["text"] == "Echo: x"


def test_legacy_completions_errors(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(_config(c))
    c.cp.start()
    dp = c.add_data_plane()
    client = dp.openai_client()

    # a provider without a completions endpoint: a clear 400, nothing sent
    with pytest.raises(openai.BadRequestError) as exc:
        client.completions.create(model="bedrock-no-completions", prompt="hi")
    err = assert_openai_error(exc.value.response, 400)
    assert "legacy text-completion" in err["message"], err
    assert mock_provider.requests() == []

    # missing prompt
    with dp.http() as http:
        r = http.post("/v1/completions", json={"model": "instruct"}, headers=dp.auth_headers())
    err = assert_openai_error(r, 400, type="invalid_request_error")
    assert "prompt" in err["message"]

    # provider errors keep their class
    with pytest.raises(openai.RateLimitError):
        client.completions.create(model="rate-limited", prompt="hi")

    # no key, no answer
    with pytest.raises(openai.AuthenticationError):
        dp.openai_client(api_key="sk-wrong").completions.create(model="instruct", prompt="hi")
