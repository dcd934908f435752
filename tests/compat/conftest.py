"""Fixtures of the differential suite: one provider mock, the real LiteLLM proxy and
Tollgate's launcher, all started once per session on the same config.

It reuses the e2e suite's process helpers (``tests/e2e/harness.py``,
``components.py``); the binaries come from ``$TOLLGATE_BIN_DIR`` (default
``<repo>/target/debug``), LiteLLM from ``<repo>/.venv-litellm`` (installed on first
use, see litellm_env.py). Each case's observations on both sides (answers and the
mock's request log) are written to ``$TOLLGATE_COMPAT_REPORT_DIR`` (default: a
pytest temp dir, printed at the end).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from components import Launcher, MockProvider  # noqa: E402
from harness import Harness, Process, bin_path, free_port, http_client, wait_until  # noqa: E402

import config  # noqa: E402
from litellm_env import LITELLM_VERSION, ensure_litellm, offline_env  # noqa: E402

LITELLM_START_TIMEOUT = 240.0  # seconds; LiteLLM imports a lot before it listens
BINARIES = ("tollgate", "tollgate-mock-provider")

_session_harness: Harness | None = None


@dataclass(frozen=True)
class Gateways:
    mock: MockProvider
    master_key: str
    litellm_url: str
    tollgate_url: str
    report_dir: Path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and call.when != "teardown" and _session_harness is not None:
        report.sections.append(("process logs", _session_harness.log_report(lines=10)))
    return report


def _start_litellm(harness: Harness, config_path: Path, work: Path) -> str:
    exe = ensure_litellm()
    port = free_port()
    proc = Process(
        "litellm",
        [exe, "--config", config_path, "--port", str(port), "--host", "127.0.0.1", "--num_workers", "1"],
        log_dir=harness.log_dir,
        env=offline_env(),
        cwd=work,
    )
    harness.processes.append(proc)
    proc.start()
    return f"http://127.0.0.1:{port}"


def _wait_litellm(harness: Harness, url: str) -> None:
    proc = next(p for p in harness.processes if p.name == "litellm")

    def live() -> bool:
        with http_client(timeout=2.0) as c:
            return c.get(f"{url}/health/liveliness").status_code == 200

    wait_until(live, timeout=LITELLM_START_TIMEOUT, interval=0.5, desc=f"LiteLLM {LITELLM_VERSION} at {url}", fail_fast=proc.exit_reason)


@pytest.fixture(scope="session")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    global _session_harness
    missing = [name for name in BINARIES if not bin_path(name).exists()]
    if missing:
        pytest.fail(f"missing binaries in {bin_path('')}: {', '.join(missing)}; run `cargo build --bins`", pytrace=False)
    root = tmp_path_factory.mktemp("compat")
    harness = Harness(root / "logs")
    _session_harness = harness
    report_dir = Path(os.environ.get("TOLLGATE_COMPAT_REPORT_DIR", root / "report"))
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        mock_proc = harness.spawn("mock-provider", [bin_path("tollgate-mock-provider"), "--host", "127.0.0.1", "--port", "0"])
        mock = MockProvider(mock_proc).start()
        master_key = f"sk-compat-master-{secrets.token_hex(16)}"
        config_path = root / "litellm_config.yaml"
        config_path.write_text(yaml.safe_dump(config.build(mock.url, master_key), sort_keys=False), encoding="utf-8")
        # LiteLLM first: it takes longest, and Tollgate starts while it imports.
        litellm_url = _start_litellm(harness, config_path, root)
        tollgate = Launcher(harness, config_path=config_path, data_dir=root / "tollgate-data", master_key=master_key)
        tollgate.start()
        _wait_litellm(harness, litellm_url)
        yield Gateways(mock, master_key, litellm_url, tollgate.base_url, report_dir)
    finally:
        harness.stop_all()
        print(f"\ncompat report (both sides' answers and upstream requests per case): {report_dir}")
