"""LiteLLM's budget rule, fleet-wide: a request is admitted while the entity's settled spend
plus what requests in flight have reserved is below its ``max_budget`` (at or below it for
teams, end users and the proxy, which LiteLLM compares with ``>``); an estimate larger than
what remains never refuses a request on its own. The overshoot past the budget is bounded
by the requests in flight (docs/LIMITS.md, "Bounds")."""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from components import pg_connect
from expect import assert_applied, assert_openai_error, expected_completion_tokens, expected_prompt_tokens
from harness import wait_until

PICOS = 10**12
PRICE = (1_000_000, 2_000_000)  # picodollars per input / output token
TINY = 0.000001  # USD: less than any request here costs

# A request whose reservation equals its real cost: the gateway estimates the prompt as
# bytes ÷ 4 + 1 + 4 per message (13 bytes → 8 tokens), the mock counts words + 1 per
# message (8), and max_tokens is the mock's reply length ("Echo: a b c d e f g", 8). A
# reservation still held then weighs what the settled cost will, so what a request sees
# does not depend on whether the previous one's settlement reached the control plane yet.
TEXT = "a b c d e f g"
MAX_TOKENS = 8


def cost(text: str = TEXT) -> int:
    prompt = expected_prompt_tokens([{"role": "user", "content": text}])
    return prompt * PRICE[0] + expected_completion_tokens(f"Echo: {text}") * PRICE[1]


def start(cluster, mock, *, data_planes: int = 2, proxy_budget: float | None = None):
    c = cluster(data_planes=0, start=False)
    dep = {
        "model_name": "echo",
        "litellm_params": {
            "model": "openai/some-model",
            "api_base": mock.api_base,
            "api_key": "os.environ/MOCK_PROVIDER_KEY",
            "input_cost_per_token": PRICE[0] / PICOS,
            "output_cost_per_token": PRICE[1] / PICOS,
        },
    }
    cfg: dict[str, Any] = {
        "model_list": [dep],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": c.master_key},
    }
    if proxy_budget is not None:
        cfg["litellm_settings"] = {"max_budget": proxy_budget}
    c.write_config(cfg)
    c.cp.start()
    for _ in range(data_planes):
        c.add_data_plane()
    return c


def admin_post(c, path: str, body: dict[str, Any]) -> dict[str, Any]:
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post(path, json=body, headers=dp.auth_headers())
    # In force on every data plane when it returns: the next request may go anywhere.
    assert_applied(r, len(c.dps))
    return r.json()


def new_key(c, **fields: Any) -> str:
    return admin_post(c, "/key/generate", fields)["key"]


def chat(dp, key: str, text: str = TEXT, **extra: Any) -> httpx.Response:
    with dp.http() as h:
        return h.post(
            "/v1/chat/completions",
            json={"model": "echo", "messages": [{"role": "user", "content": text}], "max_tokens": MAX_TOKENS, **extra},
            headers={"Authorization": f"Bearer {key}"},
        )


AMOUNTS = re.compile(r"Current cost: ([0-9.e+-]+), Max budget: ([0-9.e+-]+)\.(?: Requests in flight have reserved ([0-9.e+-]+) of it\.)?")


def refusal(r: httpx.Response, who: str) -> tuple[int, int, int]:
    """A budget refusal naming ``who``: (settled spend, reserved by requests in flight, limit) in picodollars."""
    err = assert_openai_error(r, 429, type="budget_exceeded")
    message = err["message"]
    assert message.startswith("Budget has been exceeded!"), message
    assert who in message, message
    m = AMOUNTS.search(message)
    assert m, message
    spend, limit, reserved = (round(float(v) * PICOS) if v else 0 for v in m.groups())
    return spend, reserved, limit


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


ENTITIES = ["key", "team", "user", "end_user", "proxy"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_tiny_budget_serves_its_first_request_and_refuses_the_next(cluster, mock_provider, entity):
    c = start(cluster, mock_provider, proxy_budget=TINY if entity == "proxy" else None)
    extra: dict[str, Any] = {}
    if entity == "key":
        key = new_key(c, max_budget=TINY)
        who = f"Key={key_hash(key)}"
    elif entity == "team":
        admin_post(c, "/team/new", {"team_id": "tiny-team", "max_budget": TINY})
        key = new_key(c, team_id="tiny-team")
        who = "Team=tiny-team"
    elif entity == "user":
        admin_post(c, "/user/new", {"user_id": "tiny-user", "max_budget": TINY, "auto_create_key": False})
        key = new_key(c, user_id="tiny-user")
        who = "User=tiny-user"
    elif entity == "end_user":
        admin_post(c, "/customer/new", {"user_id": "tiny-customer", "max_budget": TINY})
        key = new_key(c)
        extra["user"] = "tiny-customer"
        who = "End User=tiny-customer"
    else:
        key = new_key(c)
        who = "Proxy"
    mock_provider.clear()
    # Spend 0 is below the budget: served, although it costs more than the whole budget.
    first = chat(c.dps[0], key, **extra)
    assert first.status_code == 200, first.text
    # Another data plane: the first request's cost (or, while its settlement is on its
    # way, its reservation — all of the budget) is counted fleet-wide.
    spend, reserved, limit = refusal(chat(c.dps[1], key, **extra), who)
    assert limit == TINY * PICOS
    # Teams, end users and the proxy are refused only above their budget (LiteLLM's
    # `spend > max_budget`): their reservation may take one picodollar more.
    ceiling = limit + (0 if entity in ("key", "user") else 1)
    assert (spend, reserved) in {(cost(), 0), (0, ceiling)}, (spend, reserved)
    # Refused where it was asked too, and the provider was called once.
    refusal(chat(c.dps[0], key, **extra), who)
    assert len(mock_provider.chat_requests()) == 1


def test_at_exactly_its_budget_a_key_is_refused_and_a_team_is_not(cluster, mock_provider):
    """LiteLLM compares a key's spend with ``>=`` and a team's with ``>`` (proxy/auth/auth_checks.py)."""
    c = start(cluster, mock_provider)
    budget = cost() / PICOS
    key = new_key(c, max_budget=budget)
    admin_post(c, "/team/new", {"team_id": "exact", "max_budget": budget})
    team_key = new_key(c, team_id="exact")
    assert chat(c.dps[0], key).status_code == 200
    spend, reserved, limit = refusal(chat(c.dps[1], key), f"Key={key_hash(key)}")
    assert limit == cost() and spend + reserved == cost(), (spend, reserved)
    # The team spends exactly its budget and is still served once more …
    assert chat(c.dps[0], team_key).status_code == 200
    second = chat(c.dps[1], team_key)
    assert second.status_code == 200, second.text
    # … and is refused when spend is above it.
    spend, reserved, limit = refusal(chat(c.dps[0], team_key), "Team=exact")
    assert limit == cost() and spend + reserved > cost(), (spend, reserved)


NODES = 3
CLIENTS_PER_NODE = 16


def test_three_data_planes_and_48_clients_overshoot_by_at_most_the_requests_in_flight(cluster, mock_provider, pg_url):
    c = start(cluster, mock_provider, data_planes=NODES)
    per_request = cost()
    # Not a whole number of requests: the budget is crossed inside one.
    budget = per_request * 150 + per_request // 2
    key = new_key(c, max_budget=budget / PICOS)
    who = f"Key={key_hash(key)}"
    mock_provider.clear()
    lock = threading.Lock()
    admitted: list[tuple[str, int]] = []  # (call id, settled spend when it was admitted)
    refusals: list[tuple[int, int]] = []

    def client(i: int) -> None:
        dp = c.dps[i % NODES]
        for _ in range(100):
            r = chat(dp, key)
            if r.status_code == 200:
                shown = round(float(r.headers["x-litellm-key-spend"]) * PICOS)
                with lock:
                    admitted.append((r.headers["x-litellm-call-id"], shown))
                continue
            spend, reserved, limit = refusal(r, who)
            assert limit == budget
            with lock:
                refusals.append((spend, reserved))
            # Refused while requests in flight hold the rest: the rule counts them, and
            # the client tries again. Refused on settled spend: the budget is spent.
            if spend >= budget:
                return
        raise AssertionError(f"client {i} was never refused on settled spend")

    with ThreadPoolExecutor(NODES * CLIENTS_PER_NODE) as pool:
        for f in [pool.submit(client, i) for i in range(NODES * CLIENTS_PER_NODE)]:
            f.result()

    ok = len(admitted)
    assert len(mock_provider.chat_requests()) == ok, "a refused request reached the provider"

    def stored() -> dict[str, tuple[int, Any]] | None:
        with pg_connect(pg_url) as conn:
            rows = conn.execute("SELECT request_id, spend_picos, end_time FROM spend_logs WHERE status = 'success'").fetchall()
        return {r[0]: (int(r[1]), r[2]) for r in rows} if len(rows) == ok else None

    rows = wait_until(stored, timeout=20, desc="every admitted request in spend_logs")
    assert set(rows) == {call_id for call_id, _ in admitted}
    assert all(spend == per_request for spend, _ in rows.values())
    final = ok * per_request
    # Served until the budget was reached (LiteLLM's rule)…
    assert final >= budget, f"{ok} requests spent {final}, less than the budget {budget}"
    # … and past it by at most the documented bound: every request in flight when the
    # last one was admitted costing its full price (data planes x clients x largest cost).
    bound = NODES * CLIENTS_PER_NODE * per_request
    assert final <= budget + bound, f"spend {final} > budget {budget} + bound {bound}"
    # Here every reservation weighs exactly its request's cost, so only the one request
    # whose reservation was cut to what remained could exceed it: less than one more.
    assert final < budget + per_request, f"spend {final} ≥ budget {budget} + one request"
    # No request was admitted once the control plane had settled spend ≥ the budget:
    # x-litellm-key-spend is the settled spend the control plane granted the request at.
    late = [(call_id, shown) for call_id, shown in admitted if shown >= budget]
    assert not late, f"admitted at settled spend ≥ {budget}: {late[:5]}"
    # That figure is honest: it is whole requests' costs, and only requests that had
    # ended by the time this one ended can be in it.
    for call_id, shown in admitted:
        assert shown % per_request == 0, (call_id, shown)
        ended_before = sum(1 for other, (_, end) in rows.items() if other != call_id and end <= rows[call_id][1])
        assert shown // per_request <= ended_before, (call_id, shown, ended_before)
    # Refusals name settled spend in whole requests, never more than was finally spent.
    assert any(spend >= budget for spend, _ in refusals)
    assert all(spend % per_request == 0 and spend <= final for spend, _ in refusals)
