"""The difference between two normalised views, as a list of named aspects such as
``value:answer.status`` or ``only-litellm:answer.headers.x-litellm-version``; the
allow-list matches these names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    kind: str  # value | only-litellm | only-tollgate | len
    path: str
    litellm: Any
    tollgate: Any

    @property
    def aspect(self) -> str:
        return f"{self.kind}:{self.path}"

    def describe(self) -> str:
        return f"{self.aspect}\n      litellm:  {_short(self.litellm)}\n      tollgate: {_short(self.tollgate)}"


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def diff(litellm: Any, tollgate: Any, path: str = "") -> list[Difference]:
    out: list[Difference] = []
    _diff(litellm, tollgate, path, out)
    return out


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _diff(a: Any, b: Any, path: str, out: list[Difference]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in b:
                out.append(Difference("only-litellm", _join(path, key), a[key], None))
            elif key not in a:
                out.append(Difference("only-tollgate", _join(path, key), None, b[key]))
            else:
                _diff(a[key], b[key], _join(path, key), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(Difference("len", path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, _join(path, i), out)
        return
    if a != b:
        out.append(Difference("value", path, a, b))
