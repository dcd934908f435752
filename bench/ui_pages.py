"""The dashboard's page data at scale: 100,000 keys and 1,000,000 spend rows in PostgreSQL,
each page's API calls timed against a real control plane (the dashboard's API lives there;
data planes tunnel to it). Seeding is SQL (a million records through ingest would take
most of an hour on this machine): the keys copy one made through the dashboard's API, the
spend rows are generated over 30 days, and `usage_hourly`, `usage_daily`, `usage_monthly` and the two ranking
tables are filled with exactly the sums ingest keeps (same dimensions, same log-scale latency buckets).

    TOLLGATE_BIN_DIR=target/release .venv/bin/python bench/ui_pages.py
"""

from __future__ import annotations

import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from benchlib import BIN, MASTER, free_port, wait

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "tollgate_ui_bench"
KEYS = 100_000
ROWS = 1_000_000
RUNS = 7
DIMS = {
    "global": "''",
    "model": "model_group",
    "key": "api_key",
    "team": "team_id",
    "user": "user_id",
    "end_user": "end_user",
    "provider": "provider",
}


def seed(url: str, template_token: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'virtual_keys' ORDER BY ordinal_position"
        ).fetchall()]
        made = {"token": "md5('k' || n) || md5('key' || n)", "key_alias": "'key-' || n", "active_alias": "'key-' || n",
                "team_id": "'team-' || (n % 50)"}
        conn.execute(
            f"INSERT INTO virtual_keys ({', '.join(cols)}) SELECT {', '.join(made.get(c, c) for c in cols)} "
            f"FROM virtual_keys, generate_series(1, {KEYS - 1}) AS n WHERE token = '{template_token}'")
        conn.execute(f"""
            INSERT INTO spend_logs (request_id, node_id, call_type, api_key, model_group, model_id, provider, api_base,
                prompt_tokens, completion_tokens, total_tokens, status, error_type, http_status, start_time, end_time,
                stream, end_user, received_at, spend, spend_picos, cost_known, key_alias, team_id, user_id,
                cached_tokens, retries, fallbacks, tags, overhead_us, usage_source)
            SELECT 'req-' || n, 'dp-1', 'acompletion', md5('k' || (n % {KEYS - 1} + 1)) || md5('key' || (n % {KEYS - 1} + 1)),
                (ARRAY['gpt-4o-mini','gpt-4o','claude-sonnet','gemini-flash','local'])[n % 5 + 1], 'dep-' || (n % 5), 'openai', '',
                100 + n % 900, 20 + n % 300, 120 + n % 1200, CASE WHEN n % 50 = 0 THEN 'failure' ELSE 'success' END,
                CASE WHEN n % 50 = 0 THEN 'RateLimitError' END, CASE WHEN n % 50 = 0 THEN 429 ELSE 200 END,
                now() - (n * interval '2.592 seconds'), now() - (n * interval '2.592 seconds') + ((50 + n % 3000) * interval '1 millisecond'),
                false, CASE WHEN n % 7 = 0 THEN 'user-' || (n % 1000) END, now(), (n % 1000) * 1e-6, (n % 1000) * 1000000, true,
                'key-' || (n % {KEYS - 1} + 1), 'team-' || ((n % {KEYS - 1} + 1) % 50), NULL, 0, 0, 0, '[]', 1500, 'provider'
            FROM generate_series(1, {ROWS}) AS n""")
        # Each record once: its hour, its latency bucket (as `spend/hourly.rs` computes it).
        conn.execute("""
            CREATE TEMP TABLE r AS SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour,
                model_group, api_key, team_id, user_id, end_user, provider, status, spend_picos, prompt_tokens,
                completion_tokens, cached_tokens, overhead_us,
                (extract(epoch FROM end_time - start_time) * 1000)::bigint AS ms,
                least(35, greatest(0, floor(2 * ln(greatest(1, extract(epoch FROM end_time - start_time) * 1000)::float8) / ln(2.0))))::int AS b
            FROM spend_logs""")
        hist = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(36))
        lat = ", ".join(f"lat_{i:02d}" for i in range(36))
        for dim, expr in DIMS.items():
            conn.execute(f"""
                INSERT INTO usage_hourly (dim, hour, dim_id, requests, errors, spend_picos, prompt_tokens, completion_tokens,
                    cached_tokens, latency_ms_sum, overhead_us_sum, {lat})
                SELECT '{dim}', hour, {expr}, count(*), count(*) FILTER (WHERE status <> 'success'), sum(spend_picos),
                    sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(ms), sum(overhead_us), {hist}
                FROM r WHERE {expr} IS NOT NULL GROUP BY 2, 3""")
        # `usage_daily`: what ingest adds there, the hourly rows summed per UTC day.
        sums = ["requests", "errors", "spend_picos", "prompt_tokens", "completion_tokens", "cached_tokens",
                "latency_ms_sum", "overhead_us_sum"] + [f"lat_{i:02d}" for i in range(36)]
        conn.execute(f"""
            INSERT INTO usage_daily (dim, day, dim_id, {', '.join(sums)})
            SELECT dim, substr(hour, 1, 10), dim_id, {', '.join(f'sum({c})' for c in sums)}
            FROM usage_hourly GROUP BY dim, substr(hour, 1, 10), dim_id""")
        conn.execute(f"""
            INSERT INTO usage_monthly (dim, month, dim_id, {', '.join(sums)})
            SELECT dim, substr(hour, 1, 7), dim_id, {', '.join(f'sum({c})' for c in sums)}
            FROM usage_hourly GROUP BY dim, substr(hour, 1, 7), dim_id""")
        # The ranking tables: the same rows' spend and requests.
        for rank, full, time in [("usage_rank_daily", "usage_daily", "day"), ("usage_rank_monthly", "usage_monthly", "month")]:
            conn.execute(f"INSERT INTO {rank} (dim, {time}, dim_id, spend_picos, requests) "
                         f"SELECT dim, {time}, dim_id, spend_picos, requests FROM {full}")
        conn.execute("ANALYZE")


def main() -> None:
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {DB}")
    url = f"postgres://postgres@127.0.0.1:5432/{DB}"
    work = Path(tempfile.mkdtemp(prefix="tollgate-ui-bench-"))
    config = work / "litellm_config.yaml"
    config.write_text(f"model_list:\n  - model_name: gpt-4o-mini\n    litellm_params: {{model: openai/gpt-4o-mini, mock_response: hi}}\n"
                      f"general_settings: {{master_key: {MASTER}}}\n")
    http_port = free_port()
    cp = subprocess.Popen([BIN / "tollgate-control-plane", "--config", config, "--database-url", url, "--data-dir", work,
                           "--grpc-listen", f"127.0.0.1:{free_port()}", "--http-listen", f"127.0.0.1:{http_port}",
                           "--cluster-token", "bench-cluster-token-0123456789"],
                          stdout=subprocess.DEVNULL, stderr=open(work / "cp.log", "w"))
    base = f"http://127.0.0.1:{http_port}/ui/api"
    try:
        with httpx.Client(timeout=60, trust_env=False) as h:
            def up() -> bool:
                if cp.poll() is not None:
                    sys.exit(f"the control plane exited; see {work / 'cp.log'}")
                try:
                    return h.get(f"http://127.0.0.1:{http_port}/health").status_code == 200
                except httpx.TransportError:
                    return False

            wait(up, 30, 0.1)
            login = h.post(f"{base}/login", json={"username": "admin", "password": MASTER}).json()
            csrf = {"x-tollgate-csrf": login["csrf_token"]}
            token = h.post(f"{base}/keys", json={"key_alias": "template"}, headers=csrf).json()["token"]
            t0 = time.perf_counter()
            seed(url, token)
            print(f"seeded {KEYS:,} keys and {ROWS:,} spend rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            now = time.time()
            iso = lambda t: time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(t))  # noqa: E731
            end, day, month = iso(now + 3600), iso(now - 29 * 86400), iso(now - 48 * 3600)
            some_key = h.get(f"{base}/keys", params={"size": 1, "key_alias": "key-42"}).json()["keys"][0]["token"]
            # Page 1,000's cursor: the last key of page 999 in the list's order (what a walk of
            # 999 "Next" clicks would carry), and page 1,000's first key to check it against.
            with psycopg.connect(url) as conn:
                order = "FROM virtual_keys WHERE deleted_at IS NULL ORDER BY created_at DESC, token"
                nanos, token = conn.execute(
                    f"SELECT (extract(epoch FROM created_at) * 1000000)::bigint * 1000, token {order} "
                    "OFFSET 49949 LIMIT 1").fetchone()
                (page_1000_first,) = conn.execute(f"SELECT token {order} OFFSET 49950 LIMIT 1").fetchone()
            after = f"{nanos}.{token}"
            deep = h.get(f"{base}/keys", params={"size": 50, "after": after}).json()
            assert deep["keys"][0]["token"] == page_1000_first, "the cursor page is page 1,000"
            first = datetime.datetime.fromtimestamp(now, datetime.UTC).date().replace(day=1)
            month_start = f"{first}T00:00:00Z"
            prev_month = f"{(first - datetime.timedelta(days=1)).replace(day=1)}T00:00:00Z"
            pages = {
                "Overview": [("overview", {}),
                             ("usage/timeseries", {"start": day, "end": end, "bucket": "day", "group_by": "model"}),
                             ("usage/timeseries", {"start": month, "end": end, "bucket": "hour"})],
                "Usage (30 d by key)": [("usage/timeseries", {"start": day, "end": end, "group_by": "key", "limit": 10})],
                "Usage (month to date by key)": [("usage/timeseries", {"start": month_start, "end": end, "group_by": "key", "limit": 10})],
                "Usage (last calendar month by key)": [("usage/timeseries", {"start": prev_month, "end": month_start, "group_by": "key", "limit": 10})],
                "Usage (7 d by key)": [("usage/timeseries", {"start": iso(now - 6 * 86400)[:11] + "00:00:00Z", "end": end, "group_by": "key", "limit": 10})],
                "Usage (30 d by end user)": [("usage/timeseries", {"start": day, "end": end, "group_by": "end_user", "limit": 10})],
                "Usage (30 d by model, hourly)": [("usage/timeseries", {"start": day, "end": end, "group_by": "model", "bucket": "hour"})],
                "Keys (page 1 of 2,000)": [("keys", {"size": 50})],
                "Keys (page 1,000, by cursor)": [("keys", {"size": 50, "after": after})],
                "Key detail": [("keys/" + some_key, {}),
                               ("usage/timeseries", {"start": day, "end": end, "group_by": "key", "id": some_key}),
                               ("usage/latency", {"start": day, "end": end, "group_by": "key", "id": some_key}),
                               ("logs", {"key": some_key, "limit": 20})],
                "Logs (newest 50)": [("logs", {"limit": 50})],
                "Logs (one key's 50)": [("logs", {"key": "key-42", "limit": 50})],
                "Models": [("models", {})],
                "Fleet": [("fleet", {})],
            }
            print("| page | requests | slowest request, median of 7 | page total, median |")
            print("|---|---|---|---|")
            per_call: dict[str, list[list[float]]] = {}
            for page, calls in pages.items():
                slowest, totals = [], []
                for _ in range(RUNS):
                    times = []
                    for path, params in calls:
                        t = time.perf_counter()
                        r = h.get(f"{base}/{path}", params=params)
                        times.append(time.perf_counter() - t)
                        assert r.status_code == 200, (path, r.text[:200])
                    slowest.append(max(times))
                    totals.append(sum(times))
                    per_call.setdefault(page, []).append(times)
                print(f"| {page} | {len(calls)} | {statistics.median(slowest) * 1e3:.0f} ms | {statistics.median(totals) * 1e3:.0f} ms |")
                if os.environ.get("TOLLGATE_BENCH_PER_CALL"):
                    for i, (path, _) in enumerate(calls):
                        ms = statistics.median(t[i] for t in per_call[page]) * 1e3
                        print(f"    {path}: {ms:.0f} ms", file=sys.stderr)
    finally:
        cp.terminate()
        cp.wait()
        # TOLLGATE_BENCH_KEEP_DB=1 keeps the seeded database for EXPLAIN.
        if not os.environ.get("TOLLGATE_BENCH_KEEP_DB"):
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
