"""Client authentication with the master key, and what errors may reveal."""

from __future__ import annotations

import openai
import pytest

from expect import assert_no_secrets, assert_openai_error

CHAT = {"model": "local-mock", "messages": [{"role": "user", "content": "hi"}]}


def test_master_key_auth(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    secrets = (c.master_key, c.provider_key)
    error_texts: list[str] = []

    # no key at all: raw request -> OpenAI-shaped 401
    with dp.http() as http:
        r = http.post("/v1/chat/completions", json=CHAT)
    assert_openai_error(r, 401)
    error_texts.append(r.text)

    # no key through the SDK (Authorization header removed)
    client = dp.openai_client(api_key="unused")
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(**CHAT, extra_headers={"Authorization": openai.Omit()})
    assert exc.value.status_code == 401
    assert "authorization" not in {k.lower() for k in exc.value.response.request.headers}
    error_texts.append(exc.value.response.text)

    # wrong key, including one that merely starts like the real one
    for wrong in ("sk-wrong-key", c.master_key[:-1], c.master_key + "x"):
        with pytest.raises(openai.AuthenticationError) as exc:
            dp.openai_client(api_key=wrong).chat.completions.create(**CHAT)
        assert exc.value.status_code == 401
        assert_openai_error(exc.value.response, 401)
        error_texts.append(exc.value.response.text)

    # a wrong key on GET /v1/models too
    with dp.http() as http:
        r = http.get("/v1/models", headers={"Authorization": "Bearer sk-wrong-key"})
    assert_openai_error(r, 401)
    error_texts.append(r.text)

    # the other two header spellings LiteLLM accepts
    for header in ("x-api-key", "api-key"):
        with dp.http() as http:
            r = http.post("/v1/chat/completions", json=CHAT, headers={header: c.master_key})
        assert r.status_code == 200, f"{header}: {r.status_code} {r.text}"
        assert r.json()["choices"][0]["message"]["content"] == "Hello from Tollgate"
        with dp.http() as http:
            r = http.post("/v1/chat/completions", json=CHAT, headers={header: "sk-wrong-key"})
        assert_openai_error(r, 401)
        error_texts.append(r.text)

    # the right key through the SDK works
    ok = dp.openai_client().chat.completions.create(**CHAT)
    assert ok.choices[0].message.content == "Hello from Tollgate"

    for text in error_texts:
        assert_no_secrets(text, *secrets)
    assert mock_provider.requests() == [], "rejected requests must not reach the provider"
