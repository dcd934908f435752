"""Client and provider errors come back with the right status in OpenAI's error shape."""

from __future__ import annotations

import openai
import pytest

from expect import assert_no_secrets, assert_openai_error

MESSAGES = [{"role": "user", "content": "hello"}]


def test_request_validation_errors(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    headers = {**dp.auth_headers(), "content-type": "application/json"}

    with dp.http() as http:
        # malformed JSON
        r = http.post("/v1/chat/completions", content=b'{"model": "gpt-4o-mini", "messages": [', headers=headers)
        assert_openai_error(r, 400, type="invalid_request_error")

        # valid JSON, missing `messages`
        r = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini"}, headers=headers)
        err = assert_openai_error(r, 400, type="invalid_request_error")
        assert "messages" in err["message"], err

    # unknown model: 400 naming the model
    with pytest.raises(openai.BadRequestError) as exc:
        dp.openai_client().chat.completions.create(model="no-such-model-7f3a", messages=MESSAGES)
    assert exc.value.status_code == 400
    err = assert_openai_error(exc.value.response, 400)
    assert "no-such-model-7f3a" in err["message"], err

    assert mock_provider.requests() == [], "invalid requests must not reach the provider"


def test_provider_errors_are_passed_on(cluster, mock_provider):
    c = cluster(data_planes=1)
    client = c.dps[0].openai_client()

    # 429 with retry-after, the provider's code kept
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="rate-limited", messages=MESSAGES)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "1", dict(exc.value.response.headers)
    err = assert_openai_error(exc.value.response, 429, code="rate_limit_exceeded")
    assert "Rate limit reached for requests" in err["message"], "the provider's message is kept"
    assert_no_secrets(exc.value.response.text, c.master_key, c.provider_key)

    # the same through a stream request: the error comes before any chunk
    with pytest.raises(openai.RateLimitError) as exc:
        for _ in client.chat.completions.create(model="rate-limited", messages=MESSAGES, stream=True):
            pass
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "1"

    # context length: 400 with the provider's code
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="context-too-long", messages=MESSAGES)
    assert exc.value.status_code == 400
    assert exc.value.code == "context_length_exceeded"
    err = assert_openai_error(exc.value.response, 400, code="context_length_exceeded")
    assert "maximum context length" in err["message"], "the provider's message is kept"
    assert_no_secrets(exc.value.response.text, c.master_key, c.provider_key)

    # provider 500 -> a 5xx in OpenAI's shape
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="server-error", messages=MESSAGES)
    assert 500 <= exc.value.status_code <= 599
    assert_openai_error(exc.value.response, (500, 599))
    assert_no_secrets(exc.value.response.text, c.master_key, c.provider_key)

    # every one of them did reach the provider, with the prefix stripped
    models = [r["body"]["model"] for r in mock_provider.chat_requests()]
    assert "mock-429" in models and "mock-context-length" in models and "mock-500" in models, models
    assert set(models) == {"mock-429", "mock-context-length", "mock-500"}, models


@pytest.mark.parametrize(
    "path",
    ["/key/list?page=abc", "/key/list?size=-1", "/key/list?return_full_object=yes"],
)
def test_a_malformed_query_string_is_a_400_in_openais_shape(cluster, mock_provider, path):
    """axum's own refusal is plain text; an SDK or script reading `error.message` gets nothing."""
    c = cluster(data_planes=1)
    dp = c.dps[0]
    with dp.http() as http:
        r = http.get(path, headers=dp.auth_headers())
    err = assert_openai_error(r, 400, type="invalid_request_error")
    assert "query string" in err["message"], err
