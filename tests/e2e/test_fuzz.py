"""Bad input is always a clean answer: a bounded fuzz run against every route.

A few thousand mutated requests (``fuzzgen.py``: mutated JSON bodies, wrong types, deep
nesting, huge numbers, unicode, truncation, binary; odd headers, methods, paths and
framing) go to one data plane and to the control plane's HTTP port, from a fixed seed
and within a time bound. The run must end with no response >= 500, no connection reset
and both processes alive. The mock provider is configured with healthy models only, so
no 5xx can come from it.
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from urllib.parse import urlsplit

import httpx
import pytest

from fuzzgen import Case, Generator

SEED = 20261201
CASES = 3000
# The whole run, requests and set-up, stays under two minutes on a loaded CI box.
TIME_BUDGET_S = 80.0
# A loaded machine gets through fewer; fewer than this would not mean much.
MIN_CASES = 1000
REQUEST_TIMEOUT_S = 20.0


def fuzz_config(mock_api_base: str, master_key: str) -> dict:
    def upstream(name: str, model: str, **info: object) -> dict:
        entry: dict = {
            "model_name": name,
            "litellm_params": {"model": model, "api_base": mock_api_base, "api_key": "os.environ/MOCK_PROVIDER_KEY"},
        }
        if info:
            entry["model_info"] = info
        return entry

    return {
        "model_list": [
            upstream("gpt-4o-mini", "openai/gpt-4o-mini"),
            upstream("vectors", "openai/text-embedding-3-small", mode="embedding"),
            {"model_name": "local-mock", "litellm_params": {"model": "openai/gpt-4o", "mock_response": "fuzzed"}},
        ],
        "general_settings": {"master_key": master_key},
    }


class Outcome:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.transport_errors: list[str] = []
        self.shapeless_errors: list[str] = []

    def record(self, index: int, case: Case, status: int | None, detail: str) -> None:
        where = f"#{index} {case.plane} {case.method} {case.path[:80]} ({case.desc})"
        if status is None:
            self.transport_errors.append(f"{where}: {detail}")
            return
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{where}: {status} {detail[:300]}")
        # A pass-through relays the provider's own answers, whatever their shape.
        relayed = case.path.startswith(PASS_THROUGH_ROUTES) and status not in (401, 403, 429)
        if status >= 400 and case.raw is None and case.method != "HEAD" and not relayed and not is_error_envelope(detail, case.path):
            self.shapeless_errors.append(f"{where}: {status} {detail[:200]!r}")


# Anthropic's routes answer in Anthropic's error shape.
ANTHROPIC_ROUTES = ("/v1/messages", "/anthropic/")
PASS_THROUGH_ROUTES = ("/openai/", "/anthropic/", "/gemini/", "/azure/", "/bedrock/", "/mistral/", "/cohere/")


def is_error_envelope(text: str, path: str = "") -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    if path.split("?")[0] in ("/v1/messages", "/v1/messages/count_tokens") or path.startswith(ANTHROPIC_ROUTES[1]):
        return body.get("type") == "error" and isinstance(error, dict) and {"type", "message"} <= set(error)
    return isinstance(error, dict) and {"message", "type", "param", "code"} <= set(error)


def send_raw(address: tuple[str, int], raw: bytes) -> tuple[int | None, str]:
    """Writes ``raw`` on a fresh connection and reads the answer to EOF."""
    try:
        with socket.create_connection(address, timeout=REQUEST_TIMEOUT_S) as s:
            # No half-close after writing: hyper (like most servers) takes a client's
            # EOF as the end of the connection and drops the answer.
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except (ConnectionResetError, BrokenPipeError) as e:
        return None, f"{type(e).__name__}: {e}"
    except TimeoutError:
        return None, "no answer before the timeout"
    answer = data
    while True:
        line = answer.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) < 2 or not parts[1].isdigit():
            return None, f"no HTTP status line in the answer: {data[:120]!r}"
        status = int(parts[1])
        # `100 Continue` (the request said `Expect: 100-continue`) precedes the answer.
        if 100 <= status < 200 and b"\r\n\r\n" in answer:
            answer = answer.split(b"\r\n\r\n", 1)[1]
            continue
        return status, data[:300].decode("latin-1")


def send(client: httpx.Client, case: Case) -> tuple[int | None, str]:
    content = case.body
    if case.chunked and content is not None:
        body = content

        def stream():
            # Two pieces: an unsized (chunked) body.
            yield body[: len(body) // 2]
            yield body[len(body) // 2 :]

        content = stream()
    try:
        r = client.request(case.method, case.path, headers=case.headers, content=content)
    except httpx.TimeoutException as e:
        return None, f"timeout: {e!r}"
    except httpx.TransportError as e:
        return None, f"{type(e).__name__}: {e!r}"
    return r.status_code, r.text


@pytest.mark.timeout(150)
def test_mutated_requests_get_clean_answers(cluster, mock_provider):
    c = cluster(data_planes=0, start=False)
    c.write_config(fuzz_config(mock_provider.api_base, c.master_key))
    c.cp.start()
    dp = c.add_data_plane()
    generator = Generator(SEED, c.master_key)
    targets = {"dp": dp.base_url, "cp": c.cp.http_url}
    clients = {
        plane: httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S, trust_env=False) for plane, url in targets.items()
    }
    outcome = Outcome()
    started = time.monotonic()
    sent = 0
    try:
        for index in range(CASES):
            if time.monotonic() - started > TIME_BUDGET_S:
                break
            base = urlsplit(targets["dp"])
            case = generator.case(base.netloc)
            if case.raw is not None:
                url = urlsplit(targets[case.plane])
                status, detail = send_raw((url.hostname or "127.0.0.1", url.port or 80), case.raw)
            else:
                status, detail = send(clients[case.plane], case)
            outcome.record(index, case, status, detail)
            sent += 1
    finally:
        for client in clients.values():
            client.close()

    summary = f"{sent} requests in {time.monotonic() - started:.0f} s, statuses {dict(sorted(outcome.statuses.items()))}"
    assert not outcome.transport_errors, (
        f"{len(outcome.transport_errors)} connection resets or broken answers ({summary}):\n"
        + "\n".join(outcome.transport_errors[:20])
    )
    assert not outcome.server_errors, (
        f"{len(outcome.server_errors)} server errors ({summary}):\n" + "\n".join(outcome.server_errors[:20])
    )
    assert not outcome.shapeless_errors, (
        f"{len(outcome.shapeless_errors)} errors not in their route's shape ({summary}):\n"
        + "\n".join(outcome.shapeless_errors[:30])
    )
    assert sent >= MIN_CASES, f"only {summary}: the run is too slow to mean anything"
    assert dp.proc.running and c.cp.proc.running, "a process died during the fuzz run"
    assert mock_provider.proc.running, "the mock provider died during the fuzz run"
    # Still serving normally after all of it.
    ok = dp.openai_client().chat.completions.create(model="local-mock", messages=[{"role": "user", "content": "x"}])
    assert ok.choices[0].message.content == "fuzzed"
    assert c.cp.status_response().status_code == 200


@pytest.mark.parametrize("path", ["/v1/models", "/health/liveliness", "/nowhere", "/v1/chat/completions"])
def test_a_body_sent_with_any_request_is_read_before_the_answer(cluster, path):
    """The issue's reproduction: an answer (a GET's 200, a 401, a 404, a 405) sent while the
    body is still arriving made the server close a socket with unread bytes, and the client
    saw "connection reset by peer". Each request on its own connection, so a reset shows."""
    c = cluster(data_planes=1)
    targets = [(c.dps[0].base_url, path), (c.cp.http_url, "/api/status")]
    # Large enough that the client is still writing when an eager server would answer.
    body = b'{"pad": "' + b"x" * 8 * 1024 * 1024 + b'"}'
    statuses: Counter[int] = Counter()
    for base, target in targets:
        url = urlsplit(base)
        for method in ("GET", "DELETE", "PUT"):
            for _ in range(3):
                raw = (
                    f"{method} {target} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                status, detail = send_raw((url.hostname or "127.0.0.1", url.port or 80), raw)
                assert status is not None, f"{method} {base}{target} with an 8 MiB body: {detail}"
                statuses[status] += 1
    assert all(400 <= s < 500 or s == 200 for s in statuses), statuses
