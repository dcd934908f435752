"""Turns an observation into the view that is compared: what a LiteLLM client can
rely on, with what legitimately differs between two gateways taken out (ids,
timestamps, durations, the HTTP client's own headers, signatures)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from exchange import Answer, Observation

PRESENT = "<present>"

# Response headers a LiteLLM client reads (LiteLLM's `llm_provider-*` echoes of the
# provider's own headers are left out: they describe the provider, not the gateway). Values are compared for the ones whose
# value is a fact both gateways should agree on; the others only for presence.
HEADER_VALUES = {"x-litellm-attempted-retries", "x-litellm-attempted-fallbacks", "x-litellm-model-group"}
HEADER_NUMBERS = {"retry-after", "x-litellm-response-cost", "x-litellm-key-spend"}


def _client_header(name: str) -> bool:
    return (
        name in {"content-type", "retry-after"}
        or name.startswith("x-litellm-")
        or name.startswith("x-ratelimit-")
    )


def _header_view(name: str, value: str) -> Any:
    if name == "content-type":
        return value.split(";")[0].strip().lower()
    if name in HEADER_VALUES:
        return value
    if name in HEADER_NUMBERS:
        try:
            float(value)
        except ValueError:
            return f"<not a number: {value}>"
        return "<number>"
    return PRESENT


# Body keys whose values are facts (compared); every other leaf is compared by type.
VALUE_KEYS = {
    "object", "model", "role", "content", "finish_reason", "type", "code", "param", "index",
    "prompt_tokens", "completion_tokens", "total_tokens", "name", "arguments", "status", "db",
    "text", "encoding_format", "owned_by",
}  # fmt: skip
# Body keys whose values naturally differ between gateways: dropped.
DROPPED_KEYS = {"id", "created", "system_fingerprint", "litellm_call_id", "call_id", "request_id"}


def _dropped(key: str, value: Any) -> bool:
    # An error's `message` is prose that each gateway words its own way; a choice's
    # `message` is an object and is compared.
    return value is None or key in DROPPED_KEYS or (key == "message" and isinstance(value, str))


def _body_view(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _body_view(v, k) for k, v in value.items() if not _dropped(k, v)}
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            # a vector (embeddings, logprobs): its length is the fact, not its numbers
            return {"<numbers>": len(value)}
        return [_body_view(v, key) for v in value]
    if key == "arguments" and isinstance(value, str):
        return _canonical_json(value)
    if key in VALUE_KEYS:
        return value
    return _type_name(value)


def _canonical_json(text: str) -> str:
    """Tool-call arguments are JSON text; their meaning is compared, not their spacing."""
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, (int, float)):
        return "<number>"
    if isinstance(value, str):
        return "<string>"
    return f"<{type(value).__name__}>"


def _stream_view(lines: list[str]) -> dict[str, Any]:
    """SSE framing and what the chunks carry, independent of how the text was chunked."""
    data: list[str] = []
    other: list[str] = []
    for line in lines:
        if line.startswith("data: "):
            data.append(line[len("data: ") :])
        elif line.strip():
            other.append(line.split(":", 1)[0])
    chunks: list[Any] = []
    bad_json = 0
    for payload in data:
        if payload == "[DONE]":
            continue
        try:
            chunks.append(json.loads(payload))
        except ValueError:
            bad_json += 1
    schema: dict[str, str] = {}
    for chunk in chunks:
        _flatten(_body_view(chunk), "", schema)
    content, tool_args, finish, roles, usage, objects, errors = "", "", None, [], None, set(), 0
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        if "error" in chunk:
            errors += 1
        objects.add(chunk.get("object"))
        if chunk.get("usage"):
            usage = {k: v for k, v in chunk["usage"].items() if k in {"prompt_tokens", "completion_tokens", "total_tokens"}}
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content += delta.get("content") or choice.get("text") or ""
            for call in delta.get("tool_calls") or []:
                tool_args += (call.get("function") or {}).get("arguments") or ""
            if delta.get("role") and delta["role"] not in roles:
                roles.append(delta["role"])
            finish = choice.get("finish_reason") or finish
    return {
        "framing": {
            "lines_other_than_data": sorted(set(other)),
            "ends_with_done": bool(data) and data[-1] == "[DONE]",
            "unparsable_data_lines": bad_json,
            "error_events": errors,
        },
        "chunk_fields": schema,
        "objects": sorted(o for o in objects if o),
        "content": content,
        "tool_arguments": _canonical_json(tool_args) if tool_args else "",
        "finish_reason": finish,
        "roles": roles,
        "usage": usage,
    }


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(value, list):
        for v in value:  # every element merged: chunk shapes, not counts
            _flatten(v, f"{prefix}.*", out)
    else:
        out.setdefault(prefix, value if isinstance(value, str) and value.startswith("<") else _type_name(value))


def answer_view(answer: Answer) -> dict[str, Any]:
    view: dict[str, Any] = {
        "status": answer.status,
        "headers": {k: _header_view(k, v) for k, v in answer.headers.items() if _client_header(k)},
    }
    if answer.sse_lines is not None:
        view["stream"] = _stream_view(answer.sse_lines)
    elif answer.body is not None:
        view["body"] = _body_view(answer.body)
    else:
        view["body"] = {"<not json>": bool(answer.text)}
    return view


# Upstream request headers that are the HTTP client's business, not the gateway's contract.
UPSTREAM_HEADERS_DROPPED = {
    "user-agent", "content-length", "host", "accept", "accept-encoding", "connection",
    "x-amz-date", "amz-sdk-invocation-id", "amz-sdk-request", "traceparent", "x-amz-content-sha256",
    "x-amz-user-agent", "x-amz-security-token", "transfer-encoding",
}  # fmt: skip
SIGV4 = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}")


def _upstream_header(name: str, value: str) -> Any:
    if name == "authorization":
        m = SIGV4.fullmatch(value)
        if m:
            return f"AWS4-HMAC-SHA256 {m.group(1)} {m.group(2)} {m.group(3)}"
    if name == "content-type":
        return value.split(";")[0].strip().lower()
    return value


# Google's API takes a field by its JSON name (lowerCamelCase) or its proto name
# (snake_case); LiteLLM sends the latter, Tollgate the former. Values under these keys
# are the caller's own (JSON schemas, tool arguments) and keep their names.
GOOGLE_OPAQUE = {"parameters", "response", "args", "responseSchema", "responseJsonSchema", "properties"}


def _lower_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _google_names(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = _lower_camel(k)
            out[name] = v if name in GOOGLE_OPAQUE else _google_names(v)
        return out
    if isinstance(value, list):
        return [_google_names(v) for v in value]
    return value


def upstream_view(request: dict[str, Any]) -> dict[str, Any]:
    headers = {
        k: _upstream_header(k, v)
        for k, v in request["headers"].items()
        if k not in UPSTREAM_HEADERS_DROPPED and not k.startswith("x-stainless-")
    }
    body = request["body"] if request.get("body") is not None else {"<raw>": request.get("raw_body")}
    if request["path"].startswith("/v1beta/"):
        body = _google_names(body)
    return {
        "method": request["method"],
        "path": request["path"],
        "query": dict(parse_qsl(request.get("query") or "", keep_blank_values=True)),
        "headers": headers,
        "body": body,
    }


def observation_view(obs: Observation) -> dict[str, Any]:
    """The compared tree; with one answer it is not nested under a step number."""
    steps = [
        {"answer": answer_view(a), "upstream": [upstream_view(r) for r in ups]}
        for a, ups in zip(obs.answers, obs.upstream, strict=True)
    ]
    return steps[0] if len(steps) == 1 else {f"step{i + 1}": s for i, s in enumerate(steps)}
