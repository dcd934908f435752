"""LiteLLM's spend routes (`/spend/logs`, `/global/spend/*`) and `tollgate spend …`, over real
requests: every number is the exact sum of what the requests cost."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from datetime import date, timedelta
from hashlib import sha256
from typing import Any

import httpx

from components import pg_connect
from expect import assert_no_secrets, assert_openai_error, expected_completion_tokens, expected_prompt_tokens
from harness import bin_path, wait_until

PICOS = 10**12
CUSTOM = (1_000_000, 2_000_000)  # picodollars per prompt / completion token (1e-6, 2e-6 USD)
CHEAP = (150_000, 600_000)  # gpt-4o-mini's list price
MAX_BUDGET = 250.0


def usd(picos: int) -> float:
    return picos / PICOS


def token_hash(key: str) -> str:
    return sha256(key.encode()).hexdigest()


def config(c, mock) -> dict[str, Any]:
    def dep(name: str, model: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": model, "api_base": mock.api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY", **params},
        }

    return {
        "model_list": [
            dep("custom", "openai/some-model", input_cost_per_token=1e-6, output_cost_per_token=2e-6),
            dep("cheap", "openai/gpt-4o-mini-2024-07-18"),
        ],
        "general_settings": {"master_key": c.master_key},
        "litellm_settings": {"max_budget": MAX_BUDGET},
    }


def cost(price: tuple[int, int], text: str) -> tuple[int, int]:
    """(picodollars, total tokens) of one request of ``text`` under the mock's echo rule."""
    prompt = expected_prompt_tokens([{"role": "user", "content": text}])
    completion = expected_completion_tokens(f"Echo: {text}")
    return prompt * price[0] + completion * price[1], prompt + completion


def get(dp, path: str, key: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with dp.http() as h:
        return h.get(path, params=params, headers=headers)


def ok(dp, path: str, key: str, **params: Any) -> Any:
    r = get(dp, path, key, **params)
    assert r.status_code == 200, f"GET {path} {params} -> {r.status_code} {r.text}"
    return r.json()


class Traffic:
    """Real requests through the data planes, and what each must have cost."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0
        self.by_key: dict[str, int] = defaultdict(int)
        self.by_model: dict[str, int] = defaultdict(int)
        self.by_customer: dict[str, int] = defaultdict(int)
        self.tokens_by_key_model: dict[tuple[str, str], int] = defaultdict(int)
        self.picos_by_key_model: dict[tuple[str, str], int] = defaultdict(int)
        self.call_ids: list[str] = []

    def send(self, dp, key: str, model: str, price: tuple[int, int], text: str, customer: str, stream: bool = False) -> None:
        client = dp.openai_client(api_key=key)
        messages = [{"role": "user", "content": text}]
        if stream:
            chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True, user=customer))
            assert chunks, "streamed reply"
        else:
            raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, user=customer)
            assert raw.parse().choices[0].message.content == f"Echo: {text}"
            if "x-litellm-call-id" in raw.headers:
                self.call_ids.append(raw.headers["x-litellm-call-id"])
        picos, tokens = cost(price, text)
        h = token_hash(key)
        self.total += picos
        self.count += 1
        self.by_key[h] += picos
        self.by_model[model] += picos
        self.by_customer[customer] += picos
        self.tokens_by_key_model[(h, model)] += tokens
        self.picos_by_key_model[(h, model)] += picos


def setup(cluster, mock_provider) -> tuple[Any, Any, str, str, Traffic]:
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock_provider))
    c.cp.start()
    dp1, dp2 = c.add_data_plane(), c.add_data_plane()
    master = c.master_key
    with dp1.http() as h:
        team = h.post("/team/new", json={"team_id": "team-a", "team_alias": "Alpha"}, headers=dp1.auth_headers())
        assert team.status_code == 200, team.text
        user = h.post("/user/new", json={"user_id": "user-a", "auto_create_key": False}, headers=dp1.auth_headers())
        assert user.status_code == 200, user.text
        key_a = h.post(
            "/key/generate", json={"team_id": "team-a", "user_id": "user-a", "key_alias": "alpha-key"}, headers=dp1.auth_headers()
        )
        assert key_a.status_code == 200, key_a.text
        key_b = h.post("/key/generate", json={"key_alias": "bravo-key"}, headers=dp1.auth_headers())
        assert key_b.status_code == 200, key_b.text
    a, b = key_a.json()["key"], key_b.json()["key"]
    # Keys created on dp1 are usable at once on both: the traffic below starts on dp2.
    for dp in (dp2, dp1):
        for key in (a, b):
            assert get(dp, "/v1/models", key).status_code == 200, f"{dp.name}: a key is unknown right after /key/generate"

    t = Traffic()
    for i in range(4):
        t.send((dp1, dp2)[i % 2], a, "custom", CUSTOM, f"alpha request {i} " + "word " * i, "cust-1", stream=i == 3)
    for i in range(3):
        t.send((dp1, dp2)[i % 2], b, "cheap", CHEAP, f"bravo {i} " + "more " * (2 * i), "cust-2")
    t.send(dp2, b, "custom", CUSTOM, "bravo on custom", "cust-1")

    def all_logged() -> list[dict[str, Any]] | None:
        logs = ok(dp1, "/spend/logs", master)
        return logs if len(logs) == t.count else None

    wait_until(all_logged, timeout=15.0, interval=0.1, desc=f"{t.count} spend logs stored")
    # The per-day aggregates are written in the same transaction as the logs.
    return c, dp1, a, b, t


def test_spend_logs_filters_and_summaries(cluster, mock_provider, pg_url):
    c, dp, a, b, t = setup(cluster, mock_provider)
    master = c.master_key
    ha, hb = token_hash(a), token_hash(b)

    logs = ok(dp, "/spend/logs", master)
    assert len(logs) == t.count
    assert sum(round(log["spend"] * PICOS) for log in logs) == t.total
    for log in logs:
        assert log["api_key"] in (ha, hb) and log["status"] == "success" and log["call_type"]
        assert log["model"] in ("custom", "cheap") and log["model_group"] == log["model"]
        assert log["total_tokens"] == log["prompt_tokens"] + log["completion_tokens"] > 0
        assert log["startTime"] <= log["endTime"] and log["request_duration_ms"] >= 0
        assert log["end_user"] in ("cust-1", "cust-2")
        assert log["metadata"]["user_api_key"] == log["api_key"]
        assert_no_secrets(json.dumps(log), a, b, master)
    alpha = [log for log in logs if log["api_key"] == ha]
    assert {log["team_id"] for log in alpha} == {"team-a"} and {log["user"] for log in alpha} == {"user-a"}
    assert {log["metadata"]["user_api_key_alias"] for log in alpha} == {"alpha-key"}
    # Newest first.
    assert [log["startTime"] for log in logs] == sorted((log["startTime"] for log in logs), reverse=True)

    # Filters: key (plaintext or hash), user, request id.
    by_plain = ok(dp, "/spend/logs", master, api_key=a)
    by_hash = ok(dp, "/spend/logs", master, api_key=ha)
    assert len(by_plain) == 4 and by_plain == by_hash
    assert sum(round(log["spend"] * PICOS) for log in by_plain) == t.by_key[ha]
    assert [log["request_id"] for log in ok(dp, "/spend/logs", master, user_id="user-a")] == [
        log["request_id"] for log in by_plain
    ]
    one = ok(dp, "/spend/logs", master, request_id=logs[-1]["request_id"])
    assert one == [logs[-1]]
    assert ok(dp, "/spend/logs", master, request_id="no-such-request") == []
    for call_id in t.call_ids:
        assert [log["request_id"] for log in ok(dp, "/spend/logs", master, request_id=call_id)] == [call_id]
    assert len(ok(dp, "/spend/logs", master, limit=2)) == 2

    # Dates: summarized per day (LiteLLM's default), zero-filled over the range.
    day = logs[0]["startTime"][:10]
    assert {log["startTime"][:10] for log in logs} == {day}
    first = (date.fromisoformat(day) - timedelta(days=2)).isoformat()
    summary = ok(dp, "/spend/logs", master, start_date=first, end_date=day)
    assert [d["startTime"] for d in summary] == [first, (date.fromisoformat(day) - timedelta(days=1)).isoformat(), day]
    assert summary[0] == {"startTime": first, "spend": 0.0, "users": {}, "models": {}}
    today = summary[-1]
    assert round(today["spend"] * PICOS) == t.total
    assert today[ha] == usd(t.by_key[ha]) and today[hb] == usd(t.by_key[hb])
    assert today["users"] == {"user-a": usd(t.by_key[ha])}
    assert today["models"] == {m: usd(p) for m, p in t.by_model.items()}
    scoped = ok(dp, "/spend/logs", master, start_date=day, end_date=day, api_key=b)
    assert scoped == [{"startTime": day, "spend": usd(t.by_key[hb]), hb: usd(t.by_key[hb]), "users": {}, "models": {
        "cheap": usd(t.picos_by_key_model[(hb, "cheap")]), "custom": usd(t.picos_by_key_model[(hb, "custom")])}}]
    raw = ok(dp, "/spend/logs", master, start_date=day, end_date=day, summarize="false")
    assert sorted(log["request_id"] for log in raw) == sorted(log["request_id"] for log in logs)
    assert ok(dp, "/spend/logs", master, start_date=first, end_date=first, summarize="false") == []

    # End users were created on first use, with their exact spend.
    with pg_connect(pg_url) as conn:
        rows = dict(conn.execute("SELECT user_id, spend_picos FROM customers").fetchall())
        keys = dict(conn.execute("SELECT token, spend_picos FROM virtual_keys WHERE token IN (%s, %s)", (ha, hb)).fetchall())
        teams = dict(conn.execute("SELECT team_id, spend_picos FROM teams").fetchall())
        users = dict(conn.execute("SELECT user_id, spend_picos FROM users").fetchall())
    assert rows == dict(t.by_customer)
    assert keys == {ha: t.by_key[ha], hb: t.by_key[hb]}
    assert teams == {"team-a": t.by_key[ha]} and users == {"user-a": t.by_key[ha]}


def test_global_spend_routes(cluster, mock_provider):
    c, dp, a, b, t = setup(cluster, mock_provider)
    master = c.master_key
    ha, hb = token_hash(a), token_hash(b)
    day = ok(dp, "/spend/logs", master)[0]["startTime"][:10]

    assert ok(dp, "/global/spend", master) == {"spend": usd(t.total), "max_budget": MAX_BUDGET}

    models = ok(dp, "/global/spend/models", master)
    expected_models = sorted(t.by_model.items(), key=lambda kv: -kv[1])
    assert [(m["model"], m["total_spend"]) for m in models] == [(m, usd(p)) for m, p in expected_models]
    assert ok(dp, "/global/spend/models", master, limit=1) == models[:1]

    keys = ok(dp, "/global/spend/keys", master)
    expected_keys = sorted(t.by_key.items(), key=lambda kv: -kv[1])
    assert [(k["api_key"], k["total_spend"]) for k in keys] == [(h, usd(p)) for h, p in expected_keys]
    aliases = {k["api_key"]: k["key_alias"] for k in keys}
    assert aliases == {ha: "alpha-key", hb: "bravo-key"}
    assert all(k["key_name"].startswith("sk-...") for k in keys)
    assert ok(dp, "/global/spend/keys", master, limit=1) == keys[:1]

    teams = ok(dp, "/global/spend/teams", master)
    assert teams == {
        "daily_spend": [{"date": day, "Alpha": usd(t.by_key[ha])}],
        "teams": ["Alpha"],
        "total_spend_per_team": [{"team_id": "team-a", "team_alias": "Alpha", "total_spend": usd(t.by_key[ha])}],
    }

    by_team = ok(dp, "/global/spend/report", master, start_date=day, end_date=day)
    assert len(by_team) == 1 and by_team[0]["group_by_day"] == f"{day}T00:00:00+00:00"
    (alpha,) = by_team[0]["teams"]
    assert alpha["team_name"] == "Alpha" and alpha["total_spend"] == usd(t.by_key[ha])
    assert alpha["metadata"] == [
        {"model": "custom", "spend": usd(t.by_key[ha]), "total_tokens": t.tokens_by_key_model[(ha, "custom")], "api_key": ha}
    ]
    assert ok(dp, "/global/spend/report", master, start_date=day, end_date=day, group_by="team") == by_team

    by_customer = ok(dp, "/global/spend/report", master, start_date=day, end_date=day, group_by="customer")
    customers = {g["customer"]: g for g in by_customer[0]["customers"]}
    assert {k: v["total_spend"] for k, v in customers.items()} == {k: usd(v) for k, v in t.by_customer.items()}
    assert sum(round(m["spend"] * PICOS) for m in customers["cust-1"]["metadata"]) == t.by_customer["cust-1"]

    by_key = ok(dp, "/global/spend/report", master, start_date=day, end_date=day, group_by="api_key")
    assert {k["api_key"]: k["total_cost"] for k in by_key} == {h: usd(p) for h, p in t.by_key.items()}
    bravo = next(k for k in by_key if k["api_key"] == hb)
    assert {m["model"]: m["total_cost"] for m in bravo["model_details"]} == {
        "cheap": usd(t.picos_by_key_model[(hb, "cheap")]),
        "custom": usd(t.picos_by_key_model[(hb, "custom")]),
    }
    # Outside the range: nothing.
    empty_day = (date.fromisoformat(day) - timedelta(days=3)).isoformat()
    assert ok(dp, "/global/spend/report", master, start_date=empty_day, end_date=empty_day) == []


def test_virtual_keys_read_only_their_own_logs_and_bad_input_is_a_400(cluster, mock_provider):
    c = cluster(data_planes=1)
    dp = c.dps[0]
    master = c.master_key
    with dp.http() as h:
        a = h.post("/key/generate", json={}, headers=dp.auth_headers()).json()["key"]
        b = h.post("/key/generate", json={}, headers=dp.auth_headers()).json()["key"]
    for key in (a, b):
        dp.openai_client(api_key=key).chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "hi"}])
    wait_until(lambda: len(ok(dp, "/spend/logs", master)) == 2 or None, timeout=15.0, desc="2 spend logs")

    # A key sees its own logs only, with or without naming itself.
    own = ok(dp, "/spend/logs", b)
    assert [log["api_key"] for log in own] == [token_hash(b)]
    assert ok(dp, "/spend/logs", b, api_key=b) == own == ok(dp, "/spend/logs", b, api_key=token_hash(b))
    err = assert_openai_error(get(dp, "/spend/logs", b, api_key=a), 403)
    assert "own" in err["message"]

    for path in ("/global/spend", "/global/spend/models", "/global/spend/keys", "/global/spend/teams", "/global/spend/report"):
        err = assert_openai_error(get(dp, path, b), 403)
        assert "master key" in err["message"], path
        assert_openai_error(get(dp, path, None), 401)
        assert_openai_error(get(dp, path, "sk-not-a-key"), 401)
    assert_openai_error(get(dp, "/spend/logs", None), 401)

    bad = [
        ("/spend/logs", {"start_date": "2026-13-01", "end_date": "2026-12-31"}, "YYYY-MM-DD"),
        ("/spend/logs", {"start_date": "yesterday", "end_date": "2026-01-01"}, "YYYY-MM-DD"),
        ("/spend/logs", {"start_date": "2026-01-01"}, "both"),
        ("/spend/logs", {"start_date": "2026-02-01", "end_date": "2026-01-01"}, "after"),
        ("/spend/logs", {"start_date": "2026-01-01", "end_date": "2026-01-02", "summarize": "maybe"}, "summarize"),
        ("/spend/logs", {"limit": "lots"}, "limit"),
        ("/global/spend/report", {}, "required"),
        ("/global/spend/report", {"start_date": "2026-01-01", "end_date": "2026-01-31", "group_by": "planet"}, "group_by"),
        ("/global/spend/models", {"limit": "-1"}, "limit"),
    ]
    for path, params, words in bad:
        err = assert_openai_error(get(dp, path, master, **params), 400)
        assert words in err["message"], (path, params, err)


# ---------------------------------------------------------------------------- CLI


def tollgate(cp, *args: str, master_key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "LITELLM_"))}
    env.update({"TOLLGATE_CONTROL_PLANE": cp.grpc_url, "LITELLM_MASTER_KEY": master_key})
    return subprocess.run([str(bin_path("tollgate")), "spend", *args], env=env, capture_output=True, text=True, timeout=30)


def cli_json(cp, *args: str, master_key: str) -> Any:
    r = tollgate(cp, *args, "--json", master_key=master_key)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_spend_through_the_cli(cluster, mock_provider):
    c, dp, a, b, t = setup(cluster, mock_provider)
    master = c.master_key
    ha = token_hash(a)
    day = ok(dp, "/spend/logs", master)[0]["startTime"][:10]

    # --json is exactly what the HTTP routes answer.
    assert cli_json(c.cp, "global", master_key=master) == ok(dp, "/global/spend", master)
    assert cli_json(c.cp, "models", master_key=master) == ok(dp, "/global/spend/models", master)
    assert cli_json(c.cp, "keys", "--limit", "1", master_key=master) == ok(dp, "/global/spend/keys", master, limit=1)
    assert cli_json(c.cp, "teams", master_key=master) == ok(dp, "/global/spend/teams", master)
    for group_by in ("team", "customer", "api_key"):
        assert cli_json(
            c.cp, "report", "--start-date", day, "--end-date", day, "--group-by", group_by, master_key=master
        ) == ok(dp, "/global/spend/report", master, start_date=day, end_date=day, group_by=group_by)
    assert cli_json(c.cp, "logs", "--api-key", a, master_key=master) == ok(dp, "/spend/logs", master, api_key=a)
    assert cli_json(c.cp, "logs", "--start-date", day, "--end-date", day, master_key=master) == ok(
        dp, "/spend/logs", master, start_date=day, end_date=day
    )

    # Tables: exact dollars.
    table = tollgate(c.cp, "keys", master_key=master)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["TOKEN", "ALIAS", "KEY", "NAME", "SPEND"]
    alpha_row = next(r for r in rows if r.startswith(ha))
    assert "alpha-key" in alpha_row and alpha_row.split()[-1] == "$" + format_usd(t.by_key[ha])
    logs_table = tollgate(c.cp, "logs", master_key=master)
    assert logs_table.returncode == 0 and len(logs_table.stdout.splitlines()) == t.count + 1
    global_text = tollgate(c.cp, "global", master_key=master).stdout
    assert f"${format_usd(t.total)}" in global_text and "$250" in global_text

    # Errors say what to fix; the key is never echoed.
    bad_date = tollgate(c.cp, "report", "--start-date", "2026-02-30", "--end-date", "2026-03-01", master_key=master)
    assert bad_date.returncode == 1 and "YYYY-MM-DD" in bad_date.stderr
    wrong = tollgate(c.cp, "global", master_key="sk-wrong-master")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error:") and "master" in wrong.stderr.lower()
    assert "sk-wrong-master" not in wrong.stderr


def format_usd(picos: int) -> str:
    whole, frac = divmod(picos, PICOS)
    frac_text = f"{frac:012d}".rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def test_spend_routes_on_sqlite(launcher_factory, mock_provider, tmp_path):
    """The one-command launcher stores spend in SQLite: same routes, same exact sums."""
    master = "sk-e2e-spend-sqlite-master"
    config_path = tmp_path / "litellm_config.yaml"
    config_path.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": "custom",
                        "litellm_params": {
                            "model": "openai/some-model",
                            "api_base": mock_provider.api_base,
                            "api_key": "sk-mock",
                            "input_cost_per_token": 1e-6,
                            "output_cost_per_token": 2e-6,
                        },
                    }
                ],
                "general_settings": {"master_key": master},
            }
        )
    )
    tg = launcher_factory(config_path, master).start()
    with tg.http() as h:
        created = h.post("/key/generate", json={"key_alias": "lite"}, headers=tg.auth_headers())
    assert created.status_code == 200, created.text
    key = created.json()["key"]

    t = Traffic()
    for i in range(3):
        t.send(tg, key, "custom", CUSTOM, f"sqlite {i} " + "x " * i, "cust-9")
    logs = wait_until(
        lambda: (lambda logs: logs if len(logs) == 3 else None)(ok(tg, "/spend/logs", master)),
        timeout=15.0,
        interval=0.1,
        desc="3 spend logs in SQLite",
    )
    day = logs[0]["startTime"][:10]
    h = token_hash(key)
    assert ok(tg, "/global/spend", master) == {"spend": usd(t.total), "max_budget": 0.0}
    assert ok(tg, "/spend/logs", master, start_date=day, end_date=day) == [
        {"startTime": day, "spend": usd(t.total), h: usd(t.total), "users": {}, "models": {"custom": usd(t.total)}}
    ]
    assert ok(tg, "/global/spend/keys", master) == [
        {"api_key": h, "key_alias": "lite", "key_name": created.json()["key_name"], "total_spend": usd(t.total)}
    ]
    report = ok(tg, "/global/spend/report", master, start_date=day, end_date=day, group_by="customer")
    assert [(g["customer"], g["total_spend"]) for g in report[0]["customers"]] == [("cust-9", usd(t.total))]
    assert cli_json(tg, "global", master_key=master) == ok(tg, "/global/spend", master)
