"""Usage records flow from data planes to the control plane's spend_logs table, exactly once."""

from __future__ import annotations

import json

from components import spend_log_stats, spend_row
from expect import assert_applied, expected_completion_tokens, expected_prompt_tokens
from harness import holds_for, wait_until

DELIVERY_TIMEOUT = 20.0


def make_requests(c, count: int, tag: str) -> None:
    """``count`` chats spread over the data planes, alternating streamed / non-streamed."""
    for i in range(count):
        dp = c.dps[i % len(c.dps)]
        client = dp.openai_client()
        text = f"{tag} request {i}"
        messages = [{"role": "user", "content": text}]
        if i % 2 == 0:
            resp = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert resp.choices[0].message.content == f"Echo: {text}"
        else:
            kwargs = {"stream_options": {"include_usage": True}} if i % 4 == 1 else {}
            stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True, **kwargs)
            got = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
            assert got == f"Echo: {text}"


def wait_rows(db_url: str, expected: int) -> tuple[int, int]:
    stats = wait_until(
        lambda: (s := spend_log_stats(db_url)) is not None and s[0] >= expected and s,
        timeout=DELIVERY_TIMEOUT,
        interval=0.2,
        desc=f"spend_logs to reach {expected} rows",
    )
    # it must settle at exactly that number: nothing doubled by a late redelivery
    holds_for(
        lambda: spend_log_stats(db_url) == (expected, expected), duration=1.5, desc=f"spend_logs == {expected} rows"
    )
    return stats


def test_usage_records_reach_spend_logs_exactly_once(cluster, mock_provider, pg_url):
    c = cluster(data_planes=2)

    make_requests(c, 20, "first")
    assert len(mock_provider.chat_requests()) == 20
    assert wait_rows(pg_url, 20) == (20, 20)

    # with the control plane down, records are buffered and delivered after it returns
    c.cp.kill()
    make_requests(c, 5, "buffered")
    assert spend_log_stats(pg_url) == (20, 20)
    c.cp.start()
    assert wait_rows(pg_url, 25) == (25, 25)


# ------------------------------------------------------- record fields and headers

PRICE = (1_000_000, 2_000_000)  # picodollars per token: 1e-6 / 2e-6 USD


def _fields_config(c, mock) -> dict:
    def dep(name: str, model: str, dep_id: str) -> dict:
        return {
            "model_name": name,
            "litellm_params": {
                "model": model,
                "api_base": mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
                "input_cost_per_token": 1e-6,
                "output_cost_per_token": 2e-6,
            },
            "model_info": {"id": dep_id},
        }

    return {
        "model_list": [
            # The mock reports 3 of the prompt tokens as cached for this model.
            dep("cached", "openai/gpt-4o-cached-3", "cached-a"),
            dep("cached", "openai/gpt-4o-cached-3", "cached-b"),
            dep("primary", "openai/mock-500", "primary-a"),
        ],
        "router_settings": {"num_retries": 2, "fallbacks": [{"primary": ["cached"]}]},
        "general_settings": {"master_key": c.master_key},
    }


def _ms(headers, name: str) -> float:
    value = float(headers[name])
    assert value >= 0, f"{name}: {value}"
    return value


def _assert_timing(headers, row: dict) -> None:
    total = _ms(headers, "x-litellm-response-duration-ms")
    overhead = _ms(headers, "x-litellm-overhead-duration-ms")
    assert overhead <= total
    # The header and the record carry the same measurement: ms rounded to 3 decimals vs µs
    # truncated, so at most 1 µs apart (rounded first: 4.054 * 1000 is 4054.0000000000005).
    assert abs(round(overhead * 1000) - row["overhead_us"]) <= 1, (overhead, row["overhead_us"])
    assert row["overhead_us"] > 0


def test_records_carry_every_field_and_responses_litellms_headers(cluster, mock_provider, pg_url):
    c = cluster(data_planes=0, start=False)
    c.write_config(_fields_config(c, mock_provider))
    c.cp.start()
    dp = c.add_data_plane()
    with dp.http() as h:
        for path, owner in (("/user/new", {"user_id": "u-1"}), ("/team/new", {"team_id": "t-1"})):
            r = h.post(path, json=owner, headers=dp.auth_headers())
            assert r.status_code == 200, r.text
        r = h.post(
            "/key/generate",
            json={"key_alias": "fields", "user_id": "u-1", "team_id": "t-1", "tags": ["key-tag"]},
            headers=dp.auth_headers(),
        )
        assert_applied(r, 1)
        key = r.json()["key"]
    messages = [{"role": "user", "content": "three little words"}]
    prompt = expected_prompt_tokens(messages)
    completion = expected_completion_tokens("Echo: three little words")
    cost = prompt * PRICE[0] + completion * PRICE[1]
    auth = {"Authorization": f"Bearer {key}", "x-litellm-end-user-id": "cust-1"}

    # Not streamed, the first attempt failing once: one retry.
    mock_provider.add_fault("gpt-4o-cached-3", 500, 1)
    body = {"model": "cached", "messages": messages, "metadata": {"tags": ["req-tag"], "trace": "t-1"}}
    with dp.http(timeout=30) as h:
        r = h.post("/v1/chat/completions", json=body, headers=auth)
    assert r.status_code == 200, r.text
    call_id = r.headers["x-litellm-call-id"]
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert float(r.headers["x-litellm-response-cost"]) == cost / 10**12
    row = wait_until(lambda: spend_row(pg_url, call_id), timeout=DELIVERY_TIMEOUT, desc="the record")
    assert r.headers["x-litellm-model-id"] == row["model_id"] and row["model_id"] in ("cached-a", "cached-b")
    assert (row["key_alias"], row["team_id"], row["user_id"], row["end_user"]) == ("fields", "t-1", "u-1", "cust-1")
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (prompt, completion, 3)
    assert (row["retries"], row["fallbacks"], row["usage_source"]) == (1, 0, "provider")
    assert row["spend_picos"] == cost and row["status"] == "success" and not row["stream"]
    assert json.loads(row["tags"]) == ["req-tag", "key-tag"]
    assert json.loads(row["metadata"]) == {"tags": ["req-tag"], "trace": "t-1"}
    assert row["start_time"] <= row["completion_start_time"] <= row["end_time"]
    _assert_timing(r.headers, row)

    # Streamed, through a fallback: the headers are on the response head.
    body = {"model": "primary", "messages": messages, "stream": True, "user": "cust-2"}
    with dp.http(timeout=30) as h, h.stream("POST", "/v1/chat/completions", json=body, headers=auth) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
        headers = r.headers
    assert text.endswith("data: [DONE]\n\n")
    assert headers["x-litellm-attempted-fallbacks"] == "1" and headers["x-litellm-model-group"] == "cached"
    row = wait_until(lambda: spend_row(pg_url, headers["x-litellm-call-id"]), timeout=DELIVERY_TIMEOUT, desc="stream record")
    assert headers["x-litellm-model-id"] == row["model_id"]
    assert (row["end_user"], row["fallbacks"], row["stream"], row["cached_tokens"]) == ("cust-2", 1, True, 3)
    assert (row["prompt_tokens"], row["completion_tokens"], row["spend_picos"]) == (prompt, completion, cost)
    assert json.loads(row["tags"]) == ["key-tag"] and row["metadata"] is None
    assert row["start_time"] <= row["completion_start_time"] <= row["end_time"]
    _assert_timing(headers, row)

    # A failure is recorded too, with its headers.
    body = {"model": "primary", "messages": messages, "disable_fallbacks": True}
    with dp.http(timeout=30) as h:
        r = h.post("/v1/chat/completions", json=body, headers=auth)
    assert r.status_code == 500, r.text
    row = wait_until(lambda: spend_row(pg_url, r.headers["x-litellm-call-id"]), timeout=DELIVERY_TIMEOUT, desc="failure")
    assert (row["status"], row["http_status"], row["spend_picos"]) == ("failure", 500, 0)
    assert (row["key_alias"], row["end_user"], row["retries"]) == ("fields", "cust-1", int(r.headers["x-litellm-attempted-retries"]))
    _assert_timing(r.headers, row)
