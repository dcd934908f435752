"""One request of the catalogue, sent the same way to LiteLLM and to Tollgate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a case authenticates: the master key in the usual header, no key, a wrong
# key, or the master key in one of LiteLLM's other key headers.
MASTER, NO_AUTH, WRONG_KEY = "master", "none", "wrong"


@dataclass(frozen=True)
class Case:
    id: str
    path: str = "/v1/chat/completions"
    method: str = "POST"
    json: Any = None
    # Raw bytes instead of ``json`` (bad JSON, binary, a wrong content type).
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = MASTER
    # An alternative header carrying the master key (``x-litellm-api-key``, ``api-key``…).
    auth_header: str | None = None
    # Scripted rules queued on the mock before each side's request (``/__mock/faults``).
    faults: tuple[dict[str, Any], ...] = ()
    # Sent this many times in a row; each answer is compared (cooldowns show on the second).
    repeat: int = 1
    # Client timeout; generous unless the case is about timeouts.
    timeout: float = 30.0

    @property
    def streamed(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True
