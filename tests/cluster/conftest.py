"""Fixtures of the cluster suite: the topology of docker-compose.yaml as processes.

Reuses tests/e2e's process handles (``harness.py``, ``components.py``). The suite runs its
own PostgreSQL server (one per session, a database per test) so that a test may restart it,
and HAProxy from Debian on deploy/haproxy/haproxy.cfg. Each test reports its figures with
``figures.record(...)``; they are printed at the end of the run (and written as JSON to
``$TOLLGATE_CLUSTER_FIGURES`` when set), for docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from components import MockProvider  # noqa: E402
from harness import Harness, Process, bin_path  # noqa: E402
from topology import PostgresServer, Topology  # noqa: E402

BINARIES = ("tollgate-control-plane", "tollgate-data-plane", "tollgate-mock-provider")
_harness_key = pytest.StashKey[Harness]()
_FIGURES: list[dict[str, Any]] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        harness = item.stash.get(_harness_key, None)
        if harness is not None:
            report.sections.append(("tollgate process logs", harness.log_report(80)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("cluster figures")
    for fig in _FIGURES:
        numbers = ", ".join(f"{k}={v}" for k, v in fig.items() if k != "test")
        terminalreporter.write_line(f"{fig['test']}: {numbers}")
    out = os.environ.get("TOLLGATE_CLUSTER_FIGURES")
    if out:
        Path(out).write_text(json.dumps(_FIGURES, indent=2) + "\n")


class Figures:
    def __init__(self, test: str) -> None:
        self.test = test

    def record(self, **numbers: Any) -> None:
        fig = {"test": self.test, **numbers}
        _FIGURES.append(fig)
        print(f"FIGURES {json.dumps(fig)}")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.name)


@pytest.fixture(scope="session")
def binaries() -> None:
    missing = [name for name in BINARIES if not bin_path(name).exists()]
    if missing:
        pytest.fail(f"missing binaries in {bin_path('')}: {', '.join(missing)} (cargo build --bins)", pytrace=False)


@pytest.fixture
def harness(request: pytest.FixtureRequest, tmp_path: Path, binaries: None) -> Iterator[Harness]:
    h = Harness(tmp_path / "logs")
    request.node.stash[_harness_key] = h
    yield h
    h.stop_all()


@pytest.fixture(scope="session")
def _mock_session(tmp_path_factory: pytest.TempPathFactory, binaries: None) -> Iterator[MockProvider]:
    log_dir = tmp_path_factory.mktemp("mock-provider")
    # --no-record: thousands of load requests; these tests read the database, not the mock's log
    proc = Process(
        "mock-provider",
        [bin_path("tollgate-mock-provider"), "--host", "127.0.0.1", "--port", "0", "--no-record"],
        log_dir=log_dir,
    )
    mock = MockProvider(proc)
    try:
        yield mock.start()
    finally:
        proc.stop()


@pytest.fixture
def mock(_mock_session: MockProvider, harness: Harness) -> MockProvider:
    harness.watch(_mock_session.proc)
    assert _mock_session.proc.running, "mock provider died"
    return _mock_session


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    root = Path(f"/tmp/tollgate-cluster-pg-{os.getpid()}")
    pg = PostgresServer(root).init().start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    if not postgres.accepting():
        postgres.start()  # a test that restarted it and failed midway
    name = postgres.create_database()
    yield name
    postgres.drop_database(name)


@pytest.fixture
def topology(harness: Harness, mock: MockProvider, postgres: PostgresServer, database: str, tmp_path: Path) -> Iterator[Any]:
    """Factory: ``topology(control_planes=2, netns=ns)`` starts docker-compose.yaml's shape."""
    made: list[Topology] = []

    def make(
        control_planes: int = 1, *, netns: Any = None, cp_grpc_host: str = "127.0.0.1", provider: Any = None
    ) -> Topology:
        t = Topology(
            harness,
            root=tmp_path / "topology",
            mock=provider or mock,
            pg=postgres,
            database=database,
            control_planes=control_planes,
            cp_grpc_host=cp_grpc_host,
        )
        made.append(t)
        return t.start(netns=netns)

    yield make
    for t in made:  # before the database is dropped
        for dp in t.dps:
            dp.stop()
        if t.lb:
            t.lb.proc.stop()
        for cp in t.cps:
            cp.stop()
