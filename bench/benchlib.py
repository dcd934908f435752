"""Shared by the Python benchmarks: where the binaries are, the master key
and request they use, free ports, and waiting on a condition."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(os.environ.get("TOLLGATE_BIN_DIR", Path(__file__).resolve().parent.parent / "target" / "release"))
MASTER = "sk-bench-master"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "x"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(probe: Callable[[], object], timeout: float, poll: float = 0.002) -> float:
    """Seconds until ``probe()`` holds; ``poll=0`` spins, for timing propagation finely."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if probe():
            return time.perf_counter() - start
        if poll:
            time.sleep(poll)
    raise TimeoutError(f"condition never held within {timeout}s")
