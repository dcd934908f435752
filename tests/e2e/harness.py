"""Process management and small polling helpers for the Tollgate end-to-end suite.

Everything here is deliberately free of pytest so it can be used from a REPL
to reproduce a scenario by hand:

    >>> from harness import Process, free_port
    >>> p = Process("mock", [bin_path("tollgate-mock-provider"), "--port", "0"], log_dir=Path("/tmp/x"))
    >>> p.start(); p.wait_for_stdout_line(r"listening on (http://\\S+)")
"""

from __future__ import annotations

import functools
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]

# Environment variables a child process must never inherit from the developer's
# shell: they would silently change what the binaries connect to or which keys
# they hold, and the tests set what they need explicitly.
_SCRUBBED_ENV_PREFIXES = ("TOLLGATE_", "LITELLM_", "OPENAI_")
_SCRUBBED_ENV_NAMES = {
    "DATABASE_URL",
    "MOCK_PROVIDER_KEY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
}


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, get SIGKILL when the test runner dies,
    so an interrupted run (Ctrl-C twice, a killed CI job) leaves no servers behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def bin_dir() -> Path:
    return Path(os.environ.get("TOLLGATE_BIN_DIR", REPO_ROOT / "target" / "debug"))


def bin_path(name: str) -> Path:
    return bin_dir() / name


@functools.cache
def _listen_port_range() -> tuple[int, int]:
    """Ports below the kernel's ephemeral range: a port found by binding port 0 comes from
    that range, which every outgoing connection also draws from, so between the check and
    the child's own bind a connection of any process could take it (seen in CI: a control
    plane's "Address already in use"). Below it only listeners compete."""
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        start = 32768
    return max(1024, start - 12768), start - 1


_PORTS_HANDED_OUT: set[int] = set()
_PORT_RANDOM = random.SystemRandom()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range and
    never handed out twice by this process."""
    lo, hi = _listen_port_range()
    for _ in range(200):
        port = _PORT_RANDOM.randint(lo, hi)
        if port in _PORTS_HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_HANDED_OUT.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV_NAMES and not k.startswith(_SCRUBBED_ENV_PREFIXES)
    }
    env.setdefault("RUST_LOG", os.environ.get("TOLLGATE_E2E_RUST_LOG", "info"))
    env.setdefault("RUST_BACKTRACE", "1")
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


class Timeout(AssertionError):
    """A polled condition did not hold before its deadline."""


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    desc: str,
    fail_fast: Callable[[], str | None] | None = None,
) -> T:
    """Call ``probe`` until it returns a truthy value; return that value.

    For what is asynchronous by contract (usage delivery, config reloads, process start and
    reconnects, clock-driven expiry), never after a management write: that is in force on
    every data plane when it returns, and a test asserts on the very next request.

    Exceptions raised by ``probe`` count as "not yet" (the last one is reported).
    ``fail_fast`` may return an error message to abort early (e.g. "process exited").
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = probe()
            last_exc = None
            if last:
                return last
        except Exception as exc:
            last_exc = exc
        if fail_fast is not None:
            why = fail_fast()
            if why:
                raise Timeout(f"gave up waiting for {desc}: {why}")
        if time.monotonic() >= deadline:
            detail = f"last exception: {last_exc!r}" if last_exc else f"last value: {last!r}"
            raise Timeout(f"timed out after {timeout:.1f}s waiting for {desc}; {detail}")
        time.sleep(interval)


def holds_for(
    probe: Callable[[], T],
    *,
    duration: float,
    interval: float = 0.1,
    desc: str,
) -> list[T]:
    """Assert that ``probe`` returns a truthy value on every call for ``duration`` seconds.

    This is the only legitimate way to check that something does NOT happen
    (e.g. "readiness stays 503"). Returns all observed values.
    """
    deadline = time.monotonic() + duration
    seen: list[T] = []
    while True:
        value = probe()
        seen.append(value)
        if not value:
            raise AssertionError(
                f"expected {desc} to hold for {duration:.1f}s, broke after {len(seen)} checks: {value!r}"
            )
        if time.monotonic() >= deadline:
            return seen
        time.sleep(interval)


def tail(path: Path, lines: int = 60) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "<no log file>"
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class Process:
    """One child process with stdout and stderr captured to files in ``log_dir``.

    Restarting appends to the same files, separated by a marker line, so a
    failure report shows the whole history of the process.
    """

    def __init__(
        self,
        name: str,
        argv: Iterable[str | os.PathLike[str]],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = child_env(env)
        self.cwd = cwd or log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._stdout_offset = 0

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Process:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        exe = Path(self.argv[0])
        if not exe.exists():
            raise FileNotFoundError(f"binary {exe} not found; build it (cargo build --bins) or set TOLLGATE_BIN_DIR")
        self.starts += 1
        marker = f"===== e2e: start #{self.starts}: {' '.join(self.argv)} =====\n".encode()
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            out.write(marker)
            err.write(marker)
            out.flush()
            err.flush()
            self._stdout_offset = out.tell()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # Ctrl-C in the terminal reaches pytest only; teardown stops us
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exit_reason(self) -> str | None:
        """For ``wait_until(fail_fast=...)``: a message once the process has exited."""
        if self.popen is None:
            return f"{self.name} was never started"
        code = self.popen.poll()
        if code is None:
            return None
        return f"{self.name} exited with code {code}\n--- stderr tail ---\n{tail(self.stderr_path, 30)}"

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self) -> int | None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)
        return self.popen.returncode

    # -- output --------------------------------------------------------------------

    def stdout_since_start(self) -> str:
        with open(self.stdout_path, "rb") as f:
            f.seek(self._stdout_offset)
            return f.read().decode("utf-8", errors="replace")

    def wait_for_stdout_line(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait for a line of stdout (printed by the current run) matching ``pattern``."""
        regex = re.compile(pattern)

        def probe() -> re.Match[str] | None:
            for line in self.stdout_since_start().splitlines():
                m = regex.search(line)
                if m:
                    return m
            return None

        return wait_until(
            probe,
            timeout=timeout,
            interval=0.05,
            desc=f"{self.name} to print a line matching {pattern!r}",
            fail_fast=self.exit_reason,
        )

    def log_report(self, lines: int = 60) -> str:
        state = "running" if self.running else f"exited ({self.popen.returncode if self.popen else 'never started'})"
        return (
            f"##### {self.name} [pid {self.pid}, {state}, started {self.starts}x]\n"
            f"--- {self.stdout_path} (last {lines} lines) ---\n{tail(self.stdout_path, lines)}\n"
            f"--- {self.stderr_path} (last {lines} lines) ---\n{tail(self.stderr_path, lines)}\n"
        )


class Harness:
    """The processes of one test: stopped on teardown, their logs reported on failure."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[Process] = []
        self.watched: list[Process] = []  # e.g. the session-wide mock provider

    def spawn(self, name: str, argv: Iterable[str | os.PathLike[str]], env: Mapping[str, str] | None = None) -> Process:
        if any(p.name == name for p in self.processes):
            raise ValueError(f"duplicate process name {name!r}")
        proc = Process(name, argv, log_dir=self.log_dir, env=env)
        self.processes.append(proc)
        return proc

    def watch(self, proc: Process) -> None:
        if proc not in self.watched:
            self.watched.append(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            try:
                proc.stop()
            except Exception:
                proc.kill()

    def log_report(self, lines: int = 60) -> str:
        procs = self.processes + self.watched
        if not procs:
            return "(no processes)"
        return "\n".join(p.log_report(lines) for p in procs)


def http_client(timeout: float = 10.0) -> httpx.Client:
    """A plain HTTP client that ignores proxy settings from the environment."""
    return httpx.Client(timeout=timeout, trust_env=False)
