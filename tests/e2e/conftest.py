"""Fixtures for the Tollgate end-to-end suite.

The suite drives the real binaries (``$TOLLGATE_BIN_DIR``, default
``<repo>/target/debug``) with the real ``openai`` SDK, a real PostgreSQL
(``$TOLLGATE_TEST_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``)
and the mock provider. When a test fails, the tails of every process's
stdout/stderr are attached to its report.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from components import Cluster, Launcher, MockProvider
from harness import Harness, Process, bin_path

# The dashboard tests' browser fixture (tests/e2e/test_ui_*.py).
pytest_plugins = ["ui_support"]

BINARIES = ("tollgate", "tollgate-control-plane", "tollgate-data-plane", "tollgate-mock-provider")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_TIMEOUT = 60

_harness_key = pytest.StashKey[Harness]()


# ------------------------------------------------------------------------ hooks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest.ini sets the same; this keeps the limit when run from another rootdir.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        harness = item.stash.get(_harness_key, None)
        if harness is not None:
            report.sections.append(("tollgate process logs", harness.log_report()))
    return report


# --------------------------------------------------------------------- binaries


@pytest.fixture(scope="session")
def binaries() -> None:
    missing = [name for name in BINARIES if not bin_path(name).exists()]
    if missing:
        pytest.fail(
            f"missing binaries in {bin_path('')}: {', '.join(missing)}; "
            "build them with `cargo build --bins` or point TOLLGATE_BIN_DIR elsewhere",
            pytrace=False,
        )


# ---------------------------------------------------------------------- harness


@pytest.fixture
def harness(request: pytest.FixtureRequest, tmp_path: Path, binaries: None) -> Iterator[Harness]:
    h = Harness(tmp_path / "logs")
    request.node.stash[_harness_key] = h
    yield h
    h.stop_all()


# ------------------------------------------------------------------ mock provider


@pytest.fixture(scope="session")
def _mock_provider_session(tmp_path_factory: pytest.TempPathFactory, binaries: None) -> Iterator[MockProvider]:
    log_dir = tmp_path_factory.mktemp("mock-provider")
    proc = Process(
        "mock-provider", [bin_path("tollgate-mock-provider"), "--host", "127.0.0.1", "--port", "0"], log_dir=log_dir
    )
    mock = MockProvider(proc)
    try:
        mock.start()
        yield mock
    finally:
        proc.stop()


@pytest.fixture
def mock_provider(_mock_provider_session: MockProvider, harness: Harness) -> MockProvider:
    """The session's mock provider with an empty request log; its logs are reported on failure."""
    harness.watch(_mock_provider_session.proc)
    if not _mock_provider_session.proc.running:
        pytest.fail(f"mock provider died:\n{_mock_provider_session.proc.log_report()}", pytrace=False)
    _mock_provider_session.clear()
    return _mock_provider_session


# --------------------------------------------------------------------- postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    admin_url = os.environ.get("TOLLGATE_TEST_PG_URL", DEFAULT_PG_URL)
    name = f"tollgate_e2e_{uuid.uuid4().hex}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"cannot reach PostgreSQL at {admin_url} (set TOLLGATE_TEST_PG_URL): {exc}", pytrace=False)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        parts = urlsplit(admin_url)
        # the binaries get the conventional postgres:// scheme
        yield urlunsplit(("postgres", parts.netloc, f"/{name}", parts.query, ""))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ---------------------------------------------------------------------- cluster


ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def cluster(harness: Harness, mock_provider: MockProvider, pg_url: str, tmp_path: Path) -> Iterator[ClusterFactory]:
    """Factory: ``cluster(data_planes=2)`` writes the config, starts a control plane on
    the test's database and N data planes, and waits until each data plane is ready.

    ``cluster(data_planes=1, config=lambda c: {...})`` starts on that config instead of the
    default (a function of the cluster, for its master key); ``cluster(data_planes=0,
    start=False)`` returns an unstarted cluster whose config can be edited first.
    """
    made: list[Cluster] = []

    def make(
        data_planes: int = 2,
        *,
        start: bool = True,
        tls: bool = False,
        config: Callable[[Cluster], Mapping[str, Any]] | None = None,
    ) -> Cluster:
        if made:
            raise RuntimeError("one cluster per test")
        c = Cluster(harness, root=tmp_path / "cluster", mock=mock_provider, pg_url=pg_url, tls=tls)
        made.append(c)
        if config is not None:
            c.write_config(config(c))
        if start:
            c.cp.start()
            for _ in range(data_planes):
                c.add_data_plane()
        return c

    yield make
    # stop before the database is dropped (pg_url is torn down after this fixture)
    for c in made:
        for dp in c.dps:
            dp.stop()
        c.cp.stop()


@pytest.fixture
def launcher_factory(harness: Harness, tmp_path: Path) -> Callable[[Path, str], Launcher]:
    def make(config_path: Path, master_key: str) -> Launcher:
        return Launcher(harness, config_path=config_path, data_dir=tmp_path / "tollgate-data", master_key=master_key)

    return make
