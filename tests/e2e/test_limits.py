"""Fleet-wide limits: a key's rpm, tpm, max_parallel_requests and budget hold across
data planes (LiteLLM counts them per instance: issues #27736, #40291, #26672), and a
budget_duration resets on time."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from components import pg_connect
from expect import assert_applied, assert_openai_error, expected_completion_tokens, expected_prompt_tokens
from harness import wait_until

PICOS = 10**12
PRICE = (1_000_000, 2_000_000)  # picodollars per input / output token


def config(c, mock) -> dict[str, Any]:
    def dep(name: str, model: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": model,
                "api_base": mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
                "input_cost_per_token": PRICE[0] / PICOS,
                "output_cost_per_token": PRICE[1] / PICOS,
                **params,
            },
        }

    return {
        "model_list": [dep("echo", "openai/some-model"), dep("slow", "openai/mock-slow-600")],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": c.master_key},
    }


def start(cluster, mock, data_planes: int = 2):
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock))
    c.cp.start()
    for _ in range(data_planes):
        c.add_data_plane()
    return c


def new_key(c, **fields: Any) -> str:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/key/generate", json=fields, headers=dp.auth_headers())
    assert_applied(r, len(c.dps))
    return r.json()["key"]


def chat(dp, key: str, text: str = "hi", model: str = "echo", **extra: Any) -> httpx.Response:
    with dp.http() as h:
        return h.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": text}], **extra},
            headers={"Authorization": f"Bearer {key}"},
        )


def cost(text: str) -> int:
    prompt = expected_prompt_tokens([{"role": "user", "content": text}])
    return prompt * PRICE[0] + expected_completion_tokens(f"Echo: {text}") * PRICE[1]


# A request whose budget reservation equals its real cost (the gateway's prompt estimate,
# 13 bytes ÷ 4 + 1 + 4 = 8 tokens, is the mock's count, 7 words + 1; max_tokens is the
# reply's length): a reservation still held weighs what its settled cost will, so a
# sequence of requests is admitted the same whether or not the last settlement has
# reached the control plane yet.
EXACT = "a b c d e f g"
EXACT_MAX_TOKENS = 8


def budget_spend(r: httpx.Response) -> int:
    """The settled spend a budget refusal names, in picodollars."""
    err = assert_openai_error(r, 429, type="budget_exceeded")
    return round(float(err["message"].split("Current cost: ")[1].split(",")[0]) * PICOS)


def away_from_minute_edge() -> None:
    """rpm windows are calendar minutes on the control plane: a test that straddled
    one would rightly see two windows' worth of requests."""
    wait_until(lambda: (time.time() % 60) < 40 or None, timeout=25, interval=0.2, desc="not near a minute boundary")


def test_key_rpm_holds_across_two_data_planes(cluster, mock_provider):
    c = start(cluster, mock_provider)
    key = new_key(c, rpm_limit=10)
    away_from_minute_edge()
    rng = random.Random(7)
    statuses = []
    refused = None
    first_ok = None
    for _ in range(30):
        r = chat(rng.choice(c.dps), key)
        statuses.append(r.status_code)
        if r.status_code == 429 and refused is None:
            refused = r
        if r.status_code == 200 and first_ok is None:
            first_ok = r
    # The documented bound with the control plane reachable is zero: exactly the limit.
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20, statuses
    err = assert_openai_error(refused, 429, type="rate_limit_error")
    assert "Limit type: requests" in err["message"] and "Current limit: 10" in err["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["rate_limit_type"] == "requests"
    assert first_ok.headers["x-ratelimit-limit-requests"] == "10"
    assert int(first_ok.headers["x-ratelimit-remaining-requests"]) <= 9
    # Refused requests never reached the provider.
    assert len(mock_provider.chat_requests()) == 10


def test_key_tpm_admits_while_tokens_remain_then_refuses(cluster, mock_provider):
    c = start(cluster, mock_provider, data_planes=1)
    dp = c.dps[0]
    text = "one two three four five six seven eight nine ten"
    per_request = expected_prompt_tokens([{"role": "user", "content": text}]) + expected_completion_tokens(f"Echo: {text}")
    key = new_key(c, tpm_limit=per_request + 5)
    away_from_minute_edge()
    assert chat(dp, key, text).status_code == 200
    # 5 tokens left: admitted (LiteLLM's rule: tokens are counted after the call) …
    assert chat(dp, key, text).status_code == 200
    # … and now the minute's tokens are spent.
    err = assert_openai_error(chat(dp, key, text), 429, type="rate_limit_error")
    assert "Limit type: tokens" in err["message"]


def test_max_parallel_requests_hold_across_two_data_planes(cluster, mock_provider):
    c = start(cluster, mock_provider)
    key = new_key(c, max_parallel_requests=2)
    barrier = threading.Barrier(6)

    def one(i: int) -> int:
        barrier.wait()
        return chat(c.dps[i % 2], key, model="slow").status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(one, range(6)))
    # The mock holds each call 600 ms: only 2 can be in flight fleet-wide.
    assert statuses.count(200) == 2, statuses
    assert statuses.count(429) == 4, statuses
    # Slots come back when requests end.
    wait_until(lambda: chat(c.dps[1], key).status_code == 200 or None, timeout=5, desc="a slot is free again")


def test_budget_shared_by_two_data_planes_and_sixteen_clients(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider)
    text = "spend some money " * 4
    per_request = cost(text)
    budget = per_request * 40  # room for exactly 40 requests
    key = new_key(c, max_budget=budget / PICOS)
    results: list[int] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        dp = c.dps[i % 2]
        for _ in range(40):
            r = chat(dp, key, text, max_tokens=16)
            with lock:
                results.append(r.status_code)
            # Reservations here are larger than the real cost: a refusal while requests
            # in flight hold the rest is tried again; one on settled spend is final.
            if r.status_code != 200 and budget_spend(r) >= budget:
                return

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(client, range(32)))

    ok = results.count(200)
    assert results.count(429) > 0, "the budget never refused anything"
    assert set(results) <= {200, 429}, results
    # LiteLLM's rule: admitted while spend plus reservations is below the budget, each
    # reservation cut to what remains. Spend reaches the budget, and passes it by at
    # most the requests in flight (32 clients) at their real cost (docs/LIMITS.md).
    assert budget <= ok * per_request <= budget + 32 * per_request, f"{ok} requests at {per_request}, budget {budget}"

    def stored() -> int | None:
        with pg_connect(pg_url) as conn:
            row = conn.execute("SELECT count(*), coalesce(sum(spend_picos), 0) FROM spend_logs WHERE status = 'success'").fetchone()
        return row[1] if row and row[0] == ok else None

    spend = wait_until(stored, timeout=10, desc="every admitted request stored")
    assert spend == ok * per_request
    # The refusal names the key, its spend and its limit.
    refused = chat(c.dps[0], key, text, max_tokens=16)
    err = assert_openai_error(refused, 429, type="budget_exceeded")
    assert "Budget has been exceeded!" in err["message"] and "Max budget:" in err["message"]
    assert len(mock_provider.chat_requests()) == ok


def test_budget_duration_resets_on_time(cluster, mock_provider):
    c = start(cluster, mock_provider, data_planes=1)
    dp = c.dps[0]
    text = "hello"
    created = time.monotonic()
    # One request per period: spend 0 is below the budget, one request's cost is not.
    key = new_key(c, max_budget=cost(text) / 2 / PICOS, budget_duration="10s")
    with dp.http() as h:
        info = h.get("/key/info", params={"key": key}, headers=dp.auth_headers()).json()["info"]
    assert info["budget_duration"] == "10s" and info["budget_reset_at"] is not None
    assert chat(dp, key, text, max_tokens=2).status_code == 200
    assert_openai_error(chat(dp, key, text, max_tokens=2), 429, type="budget_exceeded")

    def served() -> float | None:
        return time.monotonic() if chat(dp, key, text, max_tokens=2).status_code == 200 else None

    back = wait_until(served, timeout=20, interval=0.1, desc="the budget resets")
    elapsed = back - created
    # Due 10 s after creation; the clock ticks every 250 ms.
    assert 9.0 <= elapsed <= 12.0, f"reset after {elapsed:.2f}s"


def test_without_the_control_plane_each_node_keeps_its_fair_share(cluster, mock_provider):
    c = start(cluster, mock_provider)
    key = new_key(c, rpm_limit=10)
    away_from_minute_edge()
    # Each node learns the fleet size from its first exchange.
    assert chat(c.dps[0], key).status_code == 200
    assert chat(c.dps[1], key).status_code == 200
    c.cp.kill()
    statuses = [chat(c.dps[0], key).status_code for _ in range(12)]
    # Static stability: still serving, but only limit ÷ fleet size (5) this minute.
    assert statuses.count(200) == 5, statuses
    assert set(statuses) == {200, 429}


def admin_post(c, path: str, body: dict[str, Any]) -> dict[str, Any]:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post(path, json=body, headers=dp.auth_headers())
    assert_applied(r, len(c.dps))
    return r.json()


def test_team_rpm_is_shared_by_its_keys_across_data_planes(cluster, mock_provider):
    c = start(cluster, mock_provider)
    admin_post(c, "/team/new", {"team_id": "eng", "rpm_limit": 6})
    a = new_key(c, team_id="eng")
    b = new_key(c, team_id="eng")
    outsider = new_key(c)
    away_from_minute_edge()
    statuses = [chat(c.dps[i % 2], (a, b)[i % 3 == 0], f"r{i}").status_code for i in range(14)]
    assert statuses.count(200) == 6, statuses
    refused = chat(c.dps[0], a)
    err = assert_openai_error(refused, 429, type="rate_limit_error")
    assert "team: eng" in err["message"]
    # Another key outside the team is not affected.
    assert chat(c.dps[1], outsider).status_code == 200


def test_end_user_budget_names_the_end_user(cluster, mock_provider):
    c = start(cluster, mock_provider)
    text = EXACT
    admin_post(c, "/customer/new", {"user_id": "acme-user-1", "max_budget": 3 * cost(text) / PICOS})
    key = new_key(c)
    results = [chat(c.dps[i % 2], key, text, user="acme-user-1", max_tokens=EXACT_MAX_TOKENS).status_code for i in range(10)]
    # LiteLLM refuses an end user once spend is above its budget (`spend > max_budget`):
    # served at spend 0, 1, 2 and exactly 3 requests' cost; then every data plane refuses.
    assert results == [200] * 4 + [429] * 6, results
    last = chat(c.dps[0], key, text, user="acme-user-1", max_tokens=EXACT_MAX_TOKENS)
    err = assert_openai_error(last, 429, type="budget_exceeded")
    assert "End User=acme-user-1" in err["message"]
    # Other end users of the same key are not limited by acme-user-1's budget.
    assert chat(c.dps[1], key, text, user="someone-else").status_code == 200


def test_per_model_and_user_limits(cluster, mock_provider):
    c = start(cluster, mock_provider)
    admin_post(c, "/user/new", {"user_id": "ana", "rpm_limit": 5, "auto_create_key": False})
    key = new_key(c, user_id="ana", model_rpm_limit={"echo": 2})
    away_from_minute_edge()
    assert [chat(c.dps[i % 2], key).status_code for i in range(3)] == [200, 200, 429]
    err = assert_openai_error(chat(c.dps[0], key), 429, type="rate_limit_error")
    assert "on model: echo" in err["message"]
    # Other models are under the user's rpm only: 5 per minute, of which 2 are used.
    statuses = [chat(c.dps[i % 2], key, model="slow").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429], statuses
    err = assert_openai_error(chat(c.dps[1], key, model="slow"), 429, type="rate_limit_error")
    assert "user: ana" in err["message"]


def test_key_spend_header_and_soft_budget(cluster, mock_provider):
    c = start(cluster, mock_provider)
    text = "how much so far"
    key = new_key(c, soft_budget=1.5 * cost(text) / PICOS)
    spent = 0

    def probe() -> bool | None:
        nonlocal spent
        r = chat(c.dps[0], key, text)
        assert r.status_code == 200, r.text  # a soft budget never refuses
        shown = round(float(r.headers["x-litellm-key-spend"]) * PICOS)
        before = spent
        spent += cost(text)
        # The header is the key's spend before this request, fleet-wide.
        return (shown == before and before >= 2 * cost(text)) or None

    wait_until(probe, timeout=10, interval=0.15, desc="x-litellm-key-spend catches up")
    r = chat(c.dps[1], key, text)
    assert r.status_code == 200
    assert r.headers["x-litellm-soft-budget-exceeded"] == "true"
    assert float(r.headers["x-litellm-key-spend"]) * PICOS >= 2 * cost(text)


def test_embeddings_and_completions_count_against_the_same_limits(cluster, mock_provider):
    c = start(cluster, mock_provider)
    key = new_key(c, rpm_limit=3)
    away_from_minute_edge()
    client = c.dps[0].openai_client(api_key=key)
    client.embeddings.create(model="echo", input="count me")
    client.completions.create(model="echo", prompt="count me too")
    assert chat(c.dps[1], key).status_code == 200
    with c.dps[1].http() as h:
        r = h.post("/v1/embeddings", json={"model": "echo", "input": "one more"}, headers={"Authorization": f"Bearer {key}"})
    err = assert_openai_error(r, 429, type="rate_limit_error")
    assert "Limit type: requests" in err["message"]


def test_team_and_proxy_budgets(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    cfg = config(c, mock_provider)
    text = EXACT
    # The proxy-wide budget (litellm_settings.max_budget): 16 requests' cost.
    cfg["litellm_settings"] = {"max_budget": 16 * cost(text) / PICOS}
    c.write_config(cfg)
    c.cp.start()
    c.add_data_plane()
    c.add_data_plane()
    admin_post(c, "/team/new", {"team_id": "small", "max_budget": 2 * cost(text) / PICOS})
    member = new_key(c, team_id="small")
    results = [chat(c.dps[i % 2], member, text, max_tokens=EXACT_MAX_TOKENS).status_code for i in range(4)]
    # A team is refused once spend is above its budget: served at 0, 1 and exactly 2
    # requests' cost (LiteLLM's `spend > max_budget`).
    assert results == [200, 200, 200, 429], results
    err = assert_openai_error(chat(c.dps[0], member, text, max_tokens=EXACT_MAX_TOKENS), 429, type="budget_exceeded")
    assert "Team=small" in err["message"]
    # Keys outside the team spend the proxy budget (3 requests spent) until it is passed:
    # served at 3 … 16 requests' cost, 14 in all.
    other = new_key(c)
    statuses = [chat(c.dps[i % 2], other, text, max_tokens=EXACT_MAX_TOKENS).status_code for i in range(20)]
    assert statuses == [200] * 14 + [429] * 6, statuses
    err = assert_openai_error(chat(c.dps[1], other, text, max_tokens=EXACT_MAX_TOKENS), 429, type="budget_exceeded")
    assert "Proxy" in err["message"]


def test_deployment_rpm_holds_across_two_data_planes(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    cfg = config(c, mock_provider)

    def limited(dep_id: str) -> dict[str, Any]:
        return {
            "model_name": "pool",
            "litellm_params": {"model": "openai/some-model", "api_base": mock_provider.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY", "rpm": 3},
            "model_info": {"id": dep_id},
        }

    cfg["model_list"] += [limited("pool-a"), limited("pool-b")]
    cfg["router_settings"]["routing_strategy"] = "usage-based-routing-v2"
    c.write_config(cfg)
    c.cp.start()
    c.add_data_plane()
    c.add_data_plane()
    away_from_minute_edge()
    served: list[str] = []
    statuses = []
    for i in range(10):
        r = chat(c.dps[i % 2], c.master_key, model="pool")
        statuses.append(r.status_code)
        if r.status_code == 200:
            served.append(r.headers["x-litellm-model-id"])
    # Each deployment takes 3 requests a minute from the whole fleet, not 3 per data plane.
    assert sorted(served) == ["pool-a"] * 3 + ["pool-b"] * 3, (served, statuses)
    assert statuses[-1] == 429
    err = assert_openai_error(chat(c.dps[0], c.master_key, model="pool"), 429, type="rate_limit_error")
    assert "rpm/tpm limit reached" in err["message"]


def test_proxy_budget_duration_starts_a_new_period(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    cfg = config(c, mock_provider)
    text = "hello"
    # Room for one request per 10 s period (aligned to the clock, as fixed windows).
    cfg["litellm_settings"] = {"max_budget": 2 * cost(text) / PICOS, "budget_duration": "10s"}
    c.write_config(cfg)
    c.cp.start()
    dp = c.add_data_plane()
    key = new_key(c)

    def refused() -> bool | None:
        return chat(dp, key, text, max_tokens=2).status_code == 429 or None

    wait_until(refused, timeout=15, interval=0.2, desc="the proxy budget is spent")
    err = assert_openai_error(chat(dp, key, text, max_tokens=2), 429, type="budget_exceeded")
    assert "Proxy" in err["message"]
    spent_at = time.monotonic()
    back = wait_until(
        lambda: time.monotonic() if chat(dp, key, text, max_tokens=2).status_code == 200 else None,
        timeout=15,
        interval=0.1,
        desc="the next period serves again",
    )
    assert back - spent_at <= 10.5


def test_a_budget_refusal_takes_the_configured_status(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    cfg = config(c, mock_provider)
    cfg["general_settings"]["budget_exceeded_status_code"] = 400
    c.write_config(cfg)
    c.cp.start()
    dp = c.add_data_plane()
    key = new_key(c, max_budget=cost("hello") / 2 / PICOS)
    mock_provider.clear()
    # Spend 0 is below the budget: served; its cost is not.
    assert chat(dp, key, "hello", max_tokens=2).status_code == 200
    err = assert_openai_error(chat(dp, key, "hello", max_tokens=2), 400, type="budget_exceeded")
    assert "Budget has been exceeded!" in err["message"]
    assert len(mock_provider.chat_requests()) == 1, "the refused request reached the provider"
    # A status that is no client error is refused at load, naming the key.
    cfg["general_settings"]["budget_exceeded_status_code"] = 200
    c.write_config(cfg)
    error = wait_until(lambda: c.cp.status()["config"]["last_error"], timeout=15, desc="the config is rejected")
    assert "general_settings.budget_exceeded_status_code" in error and "200" in error, error
    # The last good config keeps serving, with its status.
    assert_openai_error(chat(dp, key, "hello", max_tokens=2), 400, type="budget_exceeded")
