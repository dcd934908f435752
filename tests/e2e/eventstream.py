"""AWS event-stream framing (``application/vnd.amazon.eventstream``), decoded on the test's
side so a test checks what a client of Bedrock receives: each message is
``total_len | headers_len | prelude_crc | headers | payload | message_crc`` (big-endian,
CRC-32), and both checksums must hold."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any


@dataclass
class Message:
    headers: dict[str, str]
    payload: bytes

    def json(self) -> Any:
        return json.loads(self.payload)

    def chunk_event(self) -> Any:
        """InvokeModelWithResponseStream: the model's own event inside ``{"bytes": base64}``."""
        return json.loads(base64.b64decode(self.json()["bytes"]))


def _headers(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(raw):
        name_len = raw[i]
        name = raw[i + 1 : i + 1 + name_len].decode()
        i += 1 + name_len
        kind = raw[i]
        i += 1
        assert kind == 7, f"header {name}: only string headers are expected, got type {kind}"
        (value_len,) = struct.unpack(">H", raw[i : i + 2])
        out[name] = raw[i + 2 : i + 2 + value_len].decode()
        i += 2 + value_len
    return out


def decode(data: bytes) -> list[Message]:
    """Every message of a whole stream; fails on a bad checksum or trailing bytes."""
    messages = []
    i = 0
    while i < len(data):
        total, headers_len, prelude_crc = struct.unpack(">III", data[i : i + 12])
        assert zlib.crc32(data[i : i + 8]) == prelude_crc, f"prelude CRC at byte {i}"
        frame = data[i : i + total]
        assert len(frame) == total, f"torn frame at byte {i}"
        (message_crc,) = struct.unpack(">I", frame[-4:])
        assert zlib.crc32(frame[:-4]) == message_crc, f"message CRC at byte {i}"
        messages.append(Message(_headers(frame[12 : 12 + headers_len]), frame[12 + headers_len : -4]))
        i += total
    return messages
