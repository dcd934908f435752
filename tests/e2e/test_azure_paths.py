"""Azure OpenAI's URL shape (`/openai/deployments/{model}/…`, `/engines/{model}/…`), which LiteLLM
serves for clients configured for Azure: the `AzureOpenAI` SDK client pointed at the gateway."""

from __future__ import annotations

import openai
import pytest

from expect import assert_openai_error

MESSAGES = [{"role": "user", "content": "hello azure"}]


def azure_client(dp, key: str | None = None) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=dp.base_url,
        api_key=key or dp.master_key,
        api_version="2024-10-21",
        max_retries=0,
    )


def test_the_azure_sdk_works_against_the_gateway(cluster, mock_provider):
    c = cluster(data_planes=1)
    [dp] = c.dps
    client = azure_client(dp)
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.choices[0].message.content == "Echo: hello azure"
    [sent] = mock_provider.chat_requests()
    assert sent["body"]["model"] == "gpt-4o-mini"
    assert "api-version" not in sent["path"], "the client's api-version is not a provider parameter here"

    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "Echo: hello azure"


def test_the_paths_model_wins_over_the_bodys(cluster, mock_provider):
    """As in LiteLLM: the deployment named in the path is the model group asked for."""
    c = cluster(data_planes=1)
    [dp] = c.dps
    with dp.http() as h:
        for path in ("/openai/deployments/gpt-4o-mini/chat/completions", "/engines/gpt-4o-mini/chat/completions"):
            r = h.post(path, json={"model": "no-such-group", "messages": MESSAGES}, headers=dp.auth_headers())
            assert r.status_code == 200, f"{path}: {r.text}"
        r = h.post(
            "/openai/deployments/no-such-group/chat/completions",
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
            headers=dp.auth_headers(),
        )
    err = assert_openai_error(r, 400)
    assert "no-such-group" in err["message"], err
    assert len(mock_provider.chat_requests()) == 2


def test_a_virtual_key_in_azures_api_key_header_is_checked(cluster, mock_provider):
    c = cluster(data_planes=1)
    [dp] = c.dps
    with dp.http() as h:
        r = h.post("/key/generate", json={"models": ["gpt-4o-mini"]}, headers=dp.auth_headers())
        assert r.status_code == 200, r.text
        key = r.json()["key"]
    client = azure_client(dp, key)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="local-mock", messages=MESSAGES)
    assert exc.value.status_code in (401, 403)
    with pytest.raises(openai.AuthenticationError):
        azure_client(dp, "sk-not-a-key").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/openai/deployments/gpt-4o-mini/completions", {"prompt": "hi"}),
        ("/engines/gpt-4o-mini/completions", {"prompt": "hi"}),
    ],
)
def test_text_completions_by_deployment_path(cluster, mock_provider, path, body):
    c = cluster(data_planes=1)
    [dp] = c.dps
    with dp.http() as h:
        r = h.post(path, json=body, headers=dp.auth_headers())
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "text_completion"


def test_a_malformed_body_gets_the_routes_own_400(cluster, mock_provider):
    c = cluster(data_planes=1)
    [dp] = c.dps
    with dp.http() as h:
        r = h.post(
            "/openai/deployments/gpt-4o-mini/chat/completions",
            content=b'{"messages": [',
            headers={**dp.auth_headers(), "content-type": "application/json"},
        )
    assert_openai_error(r, 400, type="invalid_request_error")
    assert mock_provider.requests() == []
