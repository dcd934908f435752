"""Sends a case to one gateway and records everything the comparison looks at: the
answer (status, headers, body or stream) and what reached the provider mock."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from case import MASTER, NO_AUTH, WRONG_KEY, Case
from components import MockProvider
from harness import http_client

WRONG_KEY_VALUE = "sk-compat-wrong-key-0000000000000000"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None when the body is not JSON (see ``text``)
    text: str
    # For an SSE answer: the raw lines of the body, in order.
    sse_lines: list[str] | None = None


@dataclass
class Observation:
    """One case on one gateway: the answers (``repeat`` of them) and, per answer, the
    requests the provider mock received while it was served."""

    answers: list[Answer] = field(default_factory=list)
    upstream: list[list[dict[str, Any]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": [a.__dict__ for a in self.answers],
            "upstream": self.upstream,
        }


def request_headers(case: Case, master_key: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    if case.auth == MASTER:
        if case.auth_header:
            headers[case.auth_header] = master_key
        else:
            headers["Authorization"] = f"Bearer {master_key}"
    elif case.auth == WRONG_KEY:
        headers["Authorization"] = f"Bearer {WRONG_KEY_VALUE}"
    elif case.auth != NO_AUTH:
        raise ValueError(f"case {case.id}: unknown auth {case.auth!r}")
    headers.update(case.headers)
    return headers


def _send_once(client: httpx.Client, case: Case, master_key: str) -> Answer:
    kwargs: dict[str, Any] = {"headers": request_headers(case, master_key), "timeout": case.timeout}
    if case.content is not None:
        kwargs["content"] = case.content
    elif case.json is not None:
        kwargs["json"] = case.json
    with client.stream(case.method, case.path, **kwargs) as response:
        raw = response.read()
    text = raw.decode("utf-8", errors="replace")
    headers = {k.lower(): v for k, v in response.headers.items()}
    is_sse = headers.get("content-type", "").startswith("text/event-stream")
    body: Any = None
    if not is_sse:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    return Answer(
        status=response.status_code,
        headers=headers,
        body=body,
        text=text if body is None else "",
        sse_lines=text.splitlines() if is_sse else None,
    )


def observe(base_url: str, master_key: str, mock: MockProvider, case: Case) -> Observation:
    """Send ``case`` (``repeat`` times), reading the mock's log right after each answer.

    Every call here is synchronous, so what the gateway sent upstream for it has
    arrived by then. Scripted faults are queued only for the cases that have them and
    removed after, so an unconsumed rule cannot leak into the next case.
    """
    obs = Observation()
    with http_client() as admin, httpx.Client(base_url=base_url, trust_env=False) as client:
        if case.faults:
            admin.delete(f"{mock.url}/__mock/faults").raise_for_status()
            for rule in case.faults:
                admin.post(f"{mock.url}/__mock/faults", json=rule).raise_for_status()
        try:
            for _ in range(case.repeat):
                admin.delete(f"{mock.url}/__mock/requests").raise_for_status()
                obs.answers.append(_send_once(client, case, master_key))
                log = admin.get(f"{mock.url}/__mock/requests")
                log.raise_for_status()
                obs.upstream.append([r for r in log.json()["requests"] if not r["path"].startswith("/__mock")])
        finally:
            if case.faults:
                admin.delete(f"{mock.url}/__mock/faults").raise_for_status()
    return obs
