"""Mutated requests for the fuzz run (``test_fuzz.py``).

Every case is built from a ``random.Random`` with a fixed seed, so a failing case
is reproduced by its index. A case is either sent through httpx (``Case.raw is None``)
or written as raw bytes on a fresh socket, for framings an HTTP client refuses to
produce (a bad ``Content-Length``, a request line with junk).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

# Every route of the data plane, with the method it serves and a valid body to mutate.
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello fuzz"}]}
COMPLETION = {"model": "gpt-4o-mini", "prompt": "hello fuzz", "max_tokens": 5}
EMBEDDING = {"model": "vectors", "input": ["hello", "fuzz"]}
MESSAGES = {"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "hello fuzz"}]}

DATA_PLANE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/chat/completions", CHAT),
    ("POST", "/chat/completions", CHAT),
    ("POST", "/v1/completions", COMPLETION),
    ("POST", "/completions", COMPLETION),
    ("POST", "/v1/embeddings", EMBEDDING),
    ("POST", "/embeddings", EMBEDDING),
    ("POST", "/v1/messages", MESSAGES),
    ("POST", "/v1/messages/count_tokens", {"model": "gpt-4o-mini", "messages": MESSAGES["messages"]}),
    ("POST", "/openai/v1/chat/completions", CHAT),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "hello fuzz", "instructions": "be brief"}),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": [{"role": "user", "content": "hi"}], "stream": True}),
    ("GET", "/v1/responses/resp_fuzz", None),
    ("POST", "/v1/images/generations", {"model": "gpt-4o-mini", "prompt": "fuzz", "n": 1}),
    ("POST", "/v1/audio/speech", {"model": "gpt-4o-mini", "voice": "alloy", "input": "fuzz"}),
    ("POST", "/v1/audio/transcriptions", {"model": "gpt-4o-mini"}),
    ("POST", "/v1/moderations", {"model": "gpt-4o-mini", "input": ["fuzz"]}),
    ("POST", "/v1/rerank", {"model": "gpt-4o-mini", "query": "q", "documents": ["a", {"text": "b"}]}),
    ("GET", "/v1/models", None),
    ("GET", "/models", None),
    ("GET", "/model/info", None),
    ("GET", "/v1/model/info", None),
    ("GET", "/health", None),
    ("GET", "/health/liveliness", None),
    ("GET", "/health/liveliness/", None),
    ("GET", "/health/liveness", None),
    ("GET", "/health/readiness", None),
    ("GET", "/health/readiness/", None),
    ("POST", "/key/generate", {"models": ["gpt-4o-mini"], "duration": "1h", "max_budget": 1}),
    ("POST", "/key/update", {"key": "sk-fuzz-unknown", "max_budget": 2}),
    ("POST", "/key/delete", {"keys": ["sk-fuzz-unknown"]}),
    ("DELETE", "/key/delete", {"keys": ["sk-fuzz-unknown"]}),
    ("GET", "/key/info?key=sk-fuzz-unknown", None),
    ("GET", "/key/list", None),
    ("POST", "/key/regenerate", {"key": "sk-fuzz-unknown"}),
    ("POST", "/key/sk-fuzz-unknown/regenerate", {}),
    ("POST", "/key/block", {"key": "sk-fuzz-unknown"}),
    ("POST", "/key/unblock", {"key": "sk-fuzz-unknown"}),
    ("POST", "/team/new", {"team_alias": "fuzz", "max_budget": 1}),
    ("POST", "/team/update", {"team_id": "fuzz-none", "max_budget": 3}),
    ("POST", "/team/delete", {"team_ids": ["fuzz-none"]}),
    ("DELETE", "/team/delete", {"team_ids": ["fuzz-none"]}),
    ("GET", "/team/info?team_id=fuzz-none", None),
    ("GET", "/team/list", None),
    ("POST", "/team/member_add", {"team_id": "fuzz-none", "member": {"role": "user", "user_id": "u"}}),
    ("POST", "/team/member_delete", {"team_id": "fuzz-none", "user_id": "u"}),
    ("POST", "/team/block", {"team_id": "fuzz-none"}),
    ("POST", "/team/unblock", {"team_id": "fuzz-none"}),
    ("POST", "/user/new", {"user_id": "fuzz-user", "user_role": "internal_user"}),
    ("POST", "/user/update", {"user_id": "fuzz-user", "max_budget": 1}),
    ("POST", "/user/delete", {"user_ids": ["fuzz-none"]}),
    ("DELETE", "/user/delete", {"user_ids": ["fuzz-none"]}),
    ("GET", "/user/info?user_id=fuzz-user", None),
    ("GET", "/user/list", None),
    ("POST", "/customer/new", {"user_id": "fuzz-customer", "max_budget": 1}),
    ("POST", "/customer/update", {"user_id": "fuzz-customer", "max_budget": 2}),
    ("POST", "/customer/delete", {"user_ids": ["fuzz-none"]}),
    ("DELETE", "/customer/delete", {"user_ids": ["fuzz-none"]}),
    ("POST", "/customer/block", {"user_ids": ["fuzz-none"]}),
    ("POST", "/customer/unblock", {"user_ids": ["fuzz-none"]}),
    ("GET", "/customer/info?end_user_id=fuzz-customer", None),
    ("GET", "/customer/list", None),
    ("POST", "/end_user/new", {"user_id": "fuzz-end-user"}),
    ("GET", "/end_user/list", None),
    ("GET", "/spend/logs", None),
    ("GET", "/global/spend", None),
    ("GET", "/global/spend/models", None),
    ("GET", "/global/spend/keys", None),
    ("GET", "/global/spend/teams", None),
    ("GET", "/global/spend/report?start_date=2024-01-01&end_date=2024-02-01", None),
]

CONTROL_PLANE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/health", None),
    ("GET", "/api/status", None),
]

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]

# Values of every JSON type, including the edges parsers trip on.
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**63, -(2**63) - 1, 10**40, 1e308, -1e-308,
    "", "x" * 5000, "é😀\u202e\u0000", "os.environ/HOME", "sk-", [], [None], [[]], {}, {"": None},
    [1, "a", None, {}], {"role": "user"}, {"type": "function"},
]

CONTENT_TYPES = [
    "application/json", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; charset=latin1", "", "*/*",
]


@dataclass
class Case:
    """One request. ``raw`` set: bytes written on a fresh socket instead of httpx."""

    plane: str  # "dp" or "cp"
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    chunked: bool = False
    raw: bytes | None = None
    desc: str = ""


class Generator:
    def __init__(self, seed: int, master_key: str) -> None:
        self.r = random.Random(seed)
        self.master_key = master_key

    # ------------------------------------------------------------------ values

    def value(self, depth: int = 0) -> Any:
        r = self.r
        roll = r.random()
        if depth > 3 or roll < 0.5:
            return r.choice(ODD_VALUES)
        if roll < 0.75:
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return {self.key(): self.value(depth + 1) for _ in range(r.randint(0, 4))}

    def key(self) -> str:
        return self.r.choice(
            ["model", "messages", "content", "role", "tools", "tool_choice", "n", "stop", "stream",
             "input", "prompt", "max_tokens", "temperature", "user", "metadata", "key", "keys",
             "team_id", "user_id", "models", "max_budget", "duration", "", "ü", "__proto__"]
        )  # fmt: skip

    def nested(self) -> Any:
        # Python's encoder recurses; deeper documents are written as text in body().
        depth = self.r.choice([50, 127, 129, 400])
        value: Any = "deep"
        for _ in range(depth):
            value = [value] if self.r.random() < 0.5 else {"a": value}
        return value

    # --------------------------------------------------------------- mutation

    def mutate(self, valid: dict[str, Any]) -> Any:
        """A JSON document near ``valid``: one to three mutations of it."""
        r = self.r
        doc: Any = json.loads(json.dumps(valid))
        for _ in range(r.randint(1, 3)):
            if not isinstance(doc, dict):
                break
            op = r.randrange(8)
            keys = list(doc)
            if op == 0 and keys:
                del doc[r.choice(keys)]
            elif op == 1 and keys:
                doc[r.choice(keys)] = self.value()
            elif op == 2:
                doc[self.key()] = self.value()
            elif op == 3 and isinstance(doc.get("messages"), list):
                msgs = doc["messages"]
                msgs.insert(r.randint(0, len(msgs)), self.message())
            elif op == 4 and isinstance(doc.get("messages"), list) and doc["messages"]:
                msg = r.choice(doc["messages"])
                if isinstance(msg, dict):
                    msg[r.choice(["role", "content", "name", "tool_calls", "tool_call_id"])] = self.value()
            elif op == 5:
                doc["tools"] = [self.tool() for _ in range(r.randint(0, 3))]
            elif op == 6:
                doc[r.choice(["n", "temperature", "top_p", "max_tokens", "stop", "logit_bias"])] = self.value()
            else:
                doc[r.choice(keys or ["x"])] = self.nested()
        return doc

    def message(self) -> Any:
        r = self.r
        return r.choice([
            None, [], {}, "hi", {"role": "user"}, {"role": r.choice(["user", "system", "assistant", "tool", "function", "developer", "bot", ""]),
             "content": r.choice(["hi", None, [], [{"type": "text", "text": "x"}], [{"type": "image_url", "image_url": {"url": "data:,"}}],
                                  [None], [{"text": 1}], 5])},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "content": "1", "tool_call_id": r.choice(["c", 5, None])},
        ])  # fmt: skip

    def tool(self) -> Any:
        r = self.r
        return r.choice([
            None, [], {"type": "function"}, {"type": "function", "function": {"name": "ok_name", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": r.choice(["", "has space", "x" * 80, 5, None])}},
            {"type": 1}, {"type": "web_search_20250305", "name": "web_search"},
        ])  # fmt: skip

    # ------------------------------------------------------------------ bodies

    def body(self, valid: dict[str, Any] | None) -> tuple[bytes | None, str]:
        r = self.r
        roll = r.random()
        base = valid if valid is not None else {"k": "v"}
        if roll < 0.45:
            return json.dumps(self.mutate(base)).encode(), "mutated json"
        if roll < 0.55:
            text = json.dumps(self.mutate(base)).encode()
            return text[: r.randint(0, max(0, len(text) - 1))], "truncated json"
        if roll < 0.62:
            return bytes(r.getrandbits(8) for _ in range(r.randint(1, 600))), "binary"
        if roll < 0.67:
            return b"", "empty"
        if roll < 0.69:
            depth = r.choice([1000, 100_000])
            return b'{"model": "gpt-4o-mini", "messages": ' + b"[" * depth + b"]" * depth + b"}", "deep nesting"
        if roll < 0.72:
            return r.choice([b"null", b"[]", b"1e999999", b"\"str\"", b"-0", b"{\"a\":1,\"a\":2}",
                             b"{\"model\": \"\\ud800\"}", b"\xef\xbb\xbf{}", b"{\"x\": NaN}"]), "odd json"  # fmt: skip
        if roll < 0.76:
            return json.dumps({**base, "model": r.choice(["gpt-4o-mini", "local-mock", "nope", ""]),
                               "pad": "é" * r.randint(1, 200_000)}).encode(), "big unicode"  # fmt: skip
        if valid is None:
            return None, "no body"
        return json.dumps(valid).encode(), "valid"

    # ----------------------------------------------------------------- headers

    def headers(self) -> tuple[dict[str, str], str]:
        r = self.r
        headers: dict[str, str] = {}
        notes = []
        auth = r.random()
        if auth < 0.7:
            headers["Authorization"] = f"Bearer {self.master_key}"
        elif auth < 0.75:
            headers["Authorization"] = "Bearer sk-not-a-key"
            notes.append("bad key")
        elif auth < 0.8:
            headers["Authorization"] = r.choice(["Basic abc", "Bearer", "", "Bearer " + "k" * 9000])
            notes.append("odd auth")
        elif auth < 0.85:
            headers[r.choice(["x-litellm-api-key", "api-key", "x-api-key", "x-goog-api-key"])] = self.master_key
        else:
            notes.append("no auth")
        if r.random() < 0.5:
            headers["Content-Type"] = r.choice(CONTENT_TYPES)
        if r.random() < 0.1:
            headers["X-Fuzz-" + str(r.randint(0, 99))] = "v" * r.choice([1, 1000, 12000])
            notes.append("big header")
        if r.random() < 0.05:
            headers["Accept-Encoding"] = r.choice(["gzip", "br", "identity;q=0", "*"])
        if r.random() < 0.05:
            headers["x-litellm-end-user-id"] = r.choice(["", "u" * 300, "a b"])
        if r.random() < 0.05:
            headers["Expect"] = "100-continue"
        return headers, ",".join(notes)

    # ------------------------------------------------------------------- paths

    def odd_path(self, path: str) -> str:
        r = self.r
        return r.choice([
            path + "/", path + "//", path + "?" + "q=" + "%ZZ", path + "/extra", path.upper(),
            "/v1/" + "a" * r.choice([10, 2000]), "/%00", "/..%2f..%2fetc/passwd", "/v1/chat/completions%20",
            "/key/%F0%9F%98%80/regenerate", "/" + "é", path + "?key=" + "%" * 3, "/v2/chat/completions",
        ])  # fmt: skip

    # ------------------------------------------------------------------- cases

    def case(self, host: str) -> Case:
        r = self.r
        plane = "cp" if r.random() < 0.08 else "dp"
        routes = CONTROL_PLANE_ROUTES if plane == "cp" else DATA_PLANE_ROUTES
        method, path, valid = r.choice(routes)
        headers, notes = self.headers()
        roll = r.random()
        if roll < 0.08:
            return self.raw_case(plane, host, method, path, headers)
        if roll < 0.18:
            method = r.choice(METHODS)
        if roll > 0.9:
            path = self.odd_path(path)
        body, what = self.body(valid)
        if method in ("GET", "HEAD", "OPTIONS") and body is None and r.random() < 0.5:
            # Some HTTP clients send a body with a GET.
            body, what = json.dumps(self.mutate(valid or {"q": 1})).encode(), "GET with body"
        chunked = body is not None and r.random() < 0.1
        return Case(plane, method, path, headers, body, chunked, desc=f"{what} {notes}".strip())

    def raw_case(self, plane: str, host: str, method: str, path: str, headers: dict[str, str]) -> Case:
        """Framing an HTTP client will not produce; each is answered (4xx) and closed."""
        r = self.r
        body = b'{"model": "gpt-4o-mini"}'
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
        variants = [
            (f"Content-Length: {r.choice(['abc', '-1', '1.5', '99999999999999999999', ''])}\r\n", body, "bad content-length"),
            (f"Content-Length: {len(body)}\r\nContent-Length: {len(body) + 3}\r\n", body, "two content-lengths"),
            (f"Transfer-Encoding: chunked\r\nContent-Length: {len(body)}\r\n", b"zz\r\n" + body, "bad chunk"),
            ("Transfer-Encoding: gzip\r\n", body, "unknown transfer-encoding"),
            (f"Content-Length: {len(body)}\r\n", body, "plain"),
            (f"X-Bad\x01Header: v\r\nContent-Length: {len(body)}\r\n", body, "control char in header name"),
        ]
        extra, payload, desc = r.choice(variants)
        line = f"{method} {path} HTTP/1.1\r\n"
        if r.random() < 0.15:
            line = r.choice([f"{method} {path} HTTP/9.9\r\n", f"{method}  {path}\r\n", f"FOO\x00 {path} HTTP/1.1\r\n"])
            desc += ", bad request line"
        raw = (line + f"Host: {host}\r\nConnection: close\r\n" + head + extra + "\r\n").encode("latin-1", "replace") + payload
        return Case(plane, method, path, headers, raw=raw, desc=desc)
