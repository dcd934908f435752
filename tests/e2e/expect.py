"""Assertion helpers shared by the test files: the mock provider's token rule,
stream collection, and OpenAI's error shape."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

# ------------------------------------------------------------------ token rule


def word_count(text: str) -> int:
    return len(text.split())


def expected_prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    """The mock's rule: whitespace-separated words of all message texts + 1 per message."""
    return sum(word_count(m["content"]) for m in messages) + len(messages)


def expected_completion_tokens(reply: str) -> int:
    return word_count(reply)


def assert_usage(usage: Any, messages: Sequence[dict[str, str]], reply: str) -> None:
    assert usage is not None, "usage missing"
    prompt = expected_prompt_tokens(messages)
    completion = expected_completion_tokens(reply)
    got = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    assert got == (prompt, completion, prompt + completion), (
        f"usage {got} != expected {(prompt, completion, prompt + completion)}"
    )


# --------------------------------------------------------------------- streams


@dataclass
class CollectedStream:
    chunks: list[Any] = field(default_factory=list)
    text: str = ""
    content_chunks: int = 0
    finish_reasons: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    usage_chunks: list[Any] = field(default_factory=list)


def collect_stream(stream: Iterable[Any]) -> CollectedStream:
    """Drain an SDK chat-completion stream, concatenating the content deltas."""
    out = CollectedStream()
    for chunk in stream:
        out.chunks.append(chunk)
        assert chunk.object == "chat.completion.chunk", f"chunk object {chunk.object!r}"
        if chunk.usage is not None:
            out.usage_chunks.append(chunk)
        for choice in chunk.choices:
            assert choice.index == 0
            if choice.delta.role:
                out.roles.append(choice.delta.role)
            if choice.delta.content:
                out.text += choice.delta.content
                out.content_chunks += 1
            if choice.finish_reason is not None:
                out.finish_reasons.append(choice.finish_reason)
    return out


def assert_stream_shape(collected: CollectedStream, *, reply: str, include_usage: bool) -> None:
    assert collected.text == reply, f"streamed text {collected.text!r} != {reply!r}"
    assert collected.roles == ["assistant"], f"roles in deltas: {collected.roles}"
    assert collected.finish_reasons == ["stop"], f"finish reasons: {collected.finish_reasons}"
    ids = {c.id for c in collected.chunks}
    assert len(ids) == 1, f"chunks carry different ids: {ids}"
    if include_usage:
        assert len(collected.usage_chunks) == 1, f"expected exactly one usage chunk, got {len(collected.usage_chunks)}"
        last = collected.chunks[-1]
        assert last is collected.usage_chunks[0], "usage chunk is not the last chunk"
        assert last.choices == [], f"usage chunk has choices: {last.choices}"
    else:
        assert collected.usage_chunks == [], f"usage chunk sent although not asked: {collected.usage_chunks}"


# ---------------------------------------------------------------------- errors


def assert_openai_error(
    response: httpx.Response,
    status: int | tuple[int, int],
    *,
    type: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Check status and that the body is ``{"error": {"message","type","param","code"}}``.

    ``status`` is an exact code or an inclusive (low, high) range. Returns the inner error object.
    """
    if isinstance(status, tuple):
        assert status[0] <= response.status_code <= status[1], (
            f"status {response.status_code} not in {status}: {response.text}"
        )
    else:
        assert response.status_code == status, f"status {response.status_code} != {status}: {response.text}"
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"error content-type {response.headers.get('content-type')!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"error body keys: {body!r}"
    err = body["error"]
    assert isinstance(err, dict), f"error is not an object: {err!r}"
    missing = {"message", "type", "param", "code"} - set(err)
    assert not missing, f"error object lacks {sorted(missing)}: {err!r}"
    assert isinstance(err["message"], str) and err["message"], f"empty error message: {err!r}"
    assert isinstance(err["type"], str) and err["type"], f"empty error type: {err!r}"
    assert err["param"] is None or isinstance(err["param"], str), f"param: {err!r}"
    assert err["code"] is None or isinstance(err["code"], (str, int)), f"code: {err!r}"
    if type is not None:
        assert err["type"] == type, f"error type {err['type']!r} != {type!r}: {err!r}"
    if code is not None:
        assert err["code"] == code, f"error code {err['code']!r} != {code!r}: {err!r}"
    return err


def assert_applied(response: httpx.Response, data_planes: int) -> None:
    """A management write answered only once all ``data_planes`` connected data planes applied
    it (``x-tollgate-applied: n/n``), which is what lets a client use the result on any of them
    with its very next request; ``n/m`` with n < m means the control plane gave up waiting."""
    assert response.status_code == 200, f"write failed: {response.status_code} {response.text}"
    applied = response.headers.get("x-tollgate-applied")
    want = f"{data_planes}/{data_planes}"
    assert applied == want, f"x-tollgate-applied {applied!r}, want {want!r}: {response.text}"


def assert_status_shape(status: dict[str, Any]) -> None:
    """The control plane's ``GET /api/status`` document, field by field."""
    snap = status["snapshot"]
    assert isinstance(snap["version"], int) and snap["version"] >= 1, snap
    assert isinstance(snap["content_hash"], str) and int(snap["content_hash"], 16) >= 0, snap
    cfg = status["config"]
    assert isinstance(cfg["path"], str) and cfg["path"], cfg
    assert cfg["last_error"] is None or isinstance(cfg["last_error"], str), cfg
    assert isinstance(status["data_planes"], list)
    for n in status["data_planes"]:
        assert isinstance(n["node_id"], str) and n["node_id"], n
        assert isinstance(n["connected"], bool) and isinstance(n["in_sync"], bool), n
        assert n["applied_version"] is None or isinstance(n["applied_version"], int), n
        assert n["applied_hash"] is None or isinstance(n["applied_hash"], str), n
        datetime.fromisoformat(n["last_seen"].replace("Z", "+00:00"))  # RFC 3339
        assert n["last_nack_version"] is None or isinstance(n["last_nack_version"], int), n
        assert n["last_nack_error"] is None or isinstance(n["last_nack_error"], str), n


def assert_no_secrets(text: str, *secrets: str) -> None:
    for s in secrets:
        assert s not in text, f"secret {s[:12]}... leaked in: {text!r}"
