"""The production topology of docker-compose.yaml, as processes on this machine.

PostgreSQL (a server of the suite's own, so it can be restarted), one or two control planes,
three data planes and HAProxy running deploy/haproxy/haproxy.cfg — the very file the compose
file mounts, with the addresses given through its environment variables. The process handles
are tests/e2e's (``components.py``, ``harness.py``); what is added here is what only a fleet
has: the database server, the load balancer, network namespaces, and load from several clients.
"""

from __future__ import annotations

import csv
import io
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import yaml

from components import ControlPlane, DataPlane, MockProvider, default_config
from harness import REPO_ROOT, Harness, Process, free_port, http_client, wait_until

HAPROXY_CFG = REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg"
LOAD_MODEL = "slow"  # 50 ms at the mock: requests are in flight when a fault hits
DRAIN_DELAY = "2s"  # data planes: readiness 503 this long after SIGTERM (LB checks every 1 s)


# ------------------------------------------------------------------------- postgres


def _pg_bin(name: str) -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise FileNotFoundError(f"no PostgreSQL {name} under /usr/lib/postgresql (apt-get install postgresql)")
    return found[-1]


class PostgresServer:
    """A PostgreSQL server of the suite's own (initdb into a temporary directory), run as the
    ``postgres`` user in the foreground, so a test can restart it without touching the
    machine's shared server."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.log = root / "postgres.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        user = pwd.getpwnam("postgres")
        self._uid, self._gid = user.pw_uid, user.pw_gid

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chown(self.root, self._uid, self._gid)
        subprocess.run(
            [_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            user=self._uid,
            group=self._gid,
        )
        return self

    def start(self) -> PostgresServer:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.popen = subprocess.Popen(
            [
                _pg_bin("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.root,
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
                "-c", "fsync=off", "-c", "shared_buffers=32MB",
            ],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            user=self._uid,
            group=self._gid,
            start_new_session=True,
        )  # fmt: skip
        out.close()
        wait_until(self.accepting, timeout=30, desc="PostgreSQL accepting connections", fail_fast=self._exited)
        return self

    def _exited(self) -> str | None:
        if self.popen is not None and self.popen.poll() is not None:
            return f"postgres exited with {self.popen.returncode}: {self.log.read_text()[-2000:]}"
        return None

    def accepting(self) -> bool:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=1, autocommit=True) as c:
                c.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are cut, as in `pg_ctl stop -m fast`."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def restart(self) -> float:
        """Stops and starts the server; returns how long it refused connections (s)."""
        down = time.monotonic()
        self.stop()
        self.start()
        self.restarts += 1
        return time.monotonic() - down

    def create_database(self) -> str:
        name = f"tollgate_cluster_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=3) as c:
        return c.execute(sql, params).fetchall()


# --------------------------------------------------------------------- load balancer


class LoadBalancer:
    """Debian's haproxy on deploy/haproxy/haproxy.cfg, unchanged, in the foreground."""

    def __init__(self, harness: Harness, backends: list[str]) -> None:
        if len(backends) != 3:
            raise ValueError("haproxy.cfg has three data-plane servers")
        self.port = free_port()
        self.stats_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise FileNotFoundError("haproxy not installed (apt-get install haproxy; .ci/run does)")
        env = {
            "TOLLGATE_LB_BIND": f"127.0.0.1:{self.port}",
            "TOLLGATE_LB_STATS": f"127.0.0.1:{self.stats_port}",
            **{f"TOLLGATE_DP{i + 1}": b for i, b in enumerate(backends)},
        }
        self.proc = harness.spawn("haproxy", [haproxy, "-db", "-f", HAPROXY_CFG], env=env)

    def start(self) -> LoadBalancer:
        self.proc.start()
        wait_until(self._stats_up, timeout=10, desc="haproxy answering", fail_fast=self.proc.exit_reason)
        return self

    def _stats_up(self) -> bool:
        with http_client(timeout=1.0) as c:
            return c.get(f"http://127.0.0.1:{self.stats_port}/healthz").status_code == 200

    def server_states(self) -> dict[str, str]:
        """{dp1: "UP", dp2: "DOWN", …} from HAProxy's CSV stats."""
        with http_client(timeout=1.0) as c:
            text = c.get(f"http://127.0.0.1:{self.stats_port}/stats;csv").text
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "tollgate_data_planes" and r["svname"].startswith("dp")}

    def wait_states(self, want: dict[str, str], timeout: float = 15.0) -> None:
        def probe() -> bool:
            states = self.server_states()
            return all(states.get(s, "").startswith(v) for s, v in want.items())

        wait_until(probe, timeout=timeout, interval=0.1, desc=f"haproxy servers {want}")


# ------------------------------------------------------------------ network namespace


class NetNamespace:
    """A network namespace joined to the host by two veth pairs, like a host on two networks:
    ``cp`` (where the control planes are) and ``api`` (where the load balancer reaches it).
    ``partition()`` takes the namespace's end of the ``cp`` link down: a real partition between
    the data plane and the control plane, while the load balancer still reaches it."""

    def __init__(self, index: int) -> None:
        tag = secrets.token_hex(2)
        self.name = f"tg-{tag}"
        self.cp_host_if, self.cp_ns_if = f"tgc{tag}h", f"tgc{tag}n"
        self.api_host_if, self.api_ns_if = f"tga{tag}h", f"tga{tag}n"
        octet = 16 + (int(tag, 16) % 200)
        self.cp_host_ip, self.cp_ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"
        self.api_host_ip, self.api_ns_ip = f"10.232.{octet}.1", f"10.232.{octet}.2"
        self.created = False

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def create(self) -> NetNamespace:
        self._ip("netns", "add", self.name)
        self.created = True
        self._ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        for host_if, ns_if, host_ip, ns_ip in (
            (self.cp_host_if, self.cp_ns_if, self.cp_host_ip, self.cp_ns_ip),
            (self.api_host_if, self.api_ns_if, self.api_host_ip, self.api_ns_ip),
        ):
            self._ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
            self._ip("link", "set", ns_if, "netns", self.name)
            self._ip("addr", "add", f"{host_ip}/30", "dev", host_if)
            self._ip("link", "set", host_if, "up")
            self._ip("netns", "exec", self.name, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
            self._ip("netns", "exec", self.name, "ip", "link", "set", ns_if, "up")
        return self

    @property
    def exec_prefix(self) -> tuple[str, ...]:
        return (shutil.which("ip") or "/usr/sbin/ip", "netns", "exec", self.name)

    def partition(self) -> None:
        self._ip("netns", "exec", self.name, "ip", "link", "set", self.cp_ns_if, "down")

    def heal(self) -> None:
        self._ip("netns", "exec", self.name, "ip", "link", "set", self.cp_ns_if, "up")

    def destroy(self) -> None:
        if self.created:
            # deleting the namespace deletes its veth ends, and so their host peers
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self.created = False


# ------------------------------------------------------------------------- topology


def cluster_config(mock: MockProvider, master_key: str) -> dict[str, Any]:
    """tests/e2e's config plus ``slow``: a priced deployment answering after 50 ms."""
    config = default_config(mock, master_key)
    config["model_list"].append(
        {
            "model_name": LOAD_MODEL,
            "litellm_params": {
                "model": "openai/mock-slow-50",
                "api_base": mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
                "input_cost_per_token": 0.000001,
                "output_cost_per_token": 0.000002,
            },
        }
    )
    return config


class Topology:
    """docker-compose.yaml's services as processes: control planes on the given database,
    three data planes that are given every control plane's address, HAProxy in front."""

    def __init__(
        self,
        harness: Harness,
        *,
        root: Path,
        mock: MockProvider,
        pg: PostgresServer,
        database: str,
        control_planes: int = 1,
        cp_grpc_host: str = "127.0.0.1",
    ) -> None:
        self.harness = harness
        self.root = root
        self.pg = pg
        self.database = database
        self.db_url = pg.url(database)
        root.mkdir(parents=True, exist_ok=True)
        self.master_key = f"sk-cluster-master-{secrets.token_hex(8)}"
        self.cluster_token = f"cluster-{secrets.token_hex(16)}"
        self.config_path = root / "litellm_config.yaml"
        self.config_path.write_text(yaml.safe_dump(cluster_config(mock, self.master_key), sort_keys=False))
        provider_key = f"sk-cluster-provider-{secrets.token_hex(8)}"
        self.cps = [
            ControlPlane(
                harness,
                name=f"control-plane-{letter}",
                config_path=self.config_path,
                database_url=self.db_url,
                data_dir=root / f"cp-{letter}",
                cluster_token=self.cluster_token,
                master_key=self.master_key,
                env={"MOCK_PROVIDER_KEY": provider_key},
                grpc_host=cp_grpc_host,
            )
            for letter in "ab"[:control_planes]
        ]
        self.dps: list[DataPlane] = []
        self.lb: LoadBalancer | None = None

    @property
    def cp_urls(self) -> str:
        return ",".join(cp.grpc_url for cp in self.cps)

    def add_data_plane(self, netns: NetNamespace | None = None) -> DataPlane:
        idx = len(self.dps) + 1
        dp = DataPlane(
            self.harness,
            name=f"data-plane-{idx}",
            node_id=f"dp{idx}",
            control_plane_url=self.cp_urls,
            cluster_token=self.cluster_token,
            state_dir=self.root / f"dp-{idx}-state",
            master_key=self.master_key,
            listen_host=netns.api_ns_ip if netns else "127.0.0.1",
            argv_prefix=netns.exec_prefix if netns else (),
            extra_args=("--drain-delay", DRAIN_DELAY, "--heartbeat-secs", "1"),
        )
        self.dps.append(dp)
        return dp

    def start(self, netns: NetNamespace | None = None) -> Topology:
        """First control plane (waits until healthy), the others as standbys, three data planes
        (the third in ``netns`` when given), the load balancer once all three are ready."""
        self.cps[0].start()
        for cp in self.cps[1:]:
            cp.start(wait_healthy=False)
        for i in range(3):
            self.add_data_plane(netns if (netns and i == 2) else None).start()
        self.lb = LoadBalancer(self.harness, [f"{dp.listen_host}:{dp.port}" for dp in self.dps]).start()
        self.lb.wait_states({"dp1": "UP", "dp2": "UP", "dp3": "UP"})
        return self

    @property
    def base_url(self) -> str:
        assert self.lb is not None
        return self.lb.base_url

    def http(self, timeout: float = 15.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}

    def generate_key(self, via: DataPlane | None = None, **body: Any) -> tuple[str, str]:
        """A virtual key made through the load balancer (or on the data plane ``via``);
        (key, x-tollgate-applied)."""
        with (via.http() if via else self.http()) as c:
            r = c.post("/key/generate", headers=self.admin_headers(), json=body)
        assert r.status_code == 200, f"/key/generate -> {r.status_code} {r.text}"
        return r.json()["key"], r.headers.get("x-tollgate-applied", "")

    def active_cp(self) -> ControlPlane:
        live = [cp for cp in self.cps if cp.proc.running and cp.healthy()]
        assert len(live) == 1, f"expected one active control plane, found {[cp.name for cp in live]}"
        return live[0]

    # -- usage in the database ----------------------------------------------------------

    def logged_request_ids(self) -> dict[str, str]:
        """request_id -> node_id of every spend_logs row."""
        try:
            return dict(query(self.db_url, "SELECT request_id, node_id FROM spend_logs"))
        except psycopg.OperationalError:
            return {}

    def wait_logged(self, ids: set[str], timeout: float = 30.0) -> dict[str, str]:
        """Waits (usage delivery is asynchronous) until every id is in spend_logs or the
        deadline; returns the rows then (the caller asserts what is missing)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.logged_request_ids()
            if ids <= rows.keys() or time.monotonic() >= deadline:
                return rows
            time.sleep(0.2)

    def key_spend(self, key: str) -> tuple[int, int, int]:
        """(rows, SUM(spend_picos) of its spend_logs, the key's running spend total)."""
        import hashlib

        token = hashlib.sha256(key.encode()).hexdigest()
        (logs, total), = query(
            self.db_url, "SELECT count(*), COALESCE(SUM(spend_picos), 0) FROM spend_logs WHERE api_key = %s", (token,)
        )
        (running,), = query(self.db_url, "SELECT spend_picos FROM virtual_keys WHERE token = %s", (token,))
        return int(logs), int(total), int(running)


# ----------------------------------------------------------------------------- load


@dataclass
class Outcome:
    start: float
    end: float
    ok: bool
    call_id: str | None = None
    served_by: str | None = None
    error: str | None = None


@dataclass
class Load:
    """Several clients (threads, each its own openai.OpenAI) sending chat completions through
    the load balancer until stopped; every request's outcome is kept."""

    base_url: str
    api_key: str
    clients: int = 6
    model: str = LOAD_MODEL
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for i in range(self.clients):
            t = threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _run(self) -> None:
        client = openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=self.api_key, max_retries=0, timeout=20.0)
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                raw = client.chat.completions.with_raw_response.create(
                    model=self.model, messages=[{"role": "user", "content": "ping"}], max_tokens=5
                )
                completion = raw.parse()
                ok = bool(completion.choices and completion.choices[0].message.content)
                outcome = Outcome(
                    start,
                    time.monotonic(),
                    ok,
                    call_id=raw.headers.get("x-litellm-call-id"),
                    served_by=raw.headers.get("x-tollgate-served-by"),
                    error=None if ok else "empty completion",
                )
            except Exception as exc:  # every failure is counted, whatever its kind
                outcome = Outcome(start, time.monotonic(), False, error=f"{type(exc).__name__}: {exc}")
            with self._lock:
                self.outcomes.append(outcome)

    def wait_requests(self, n: int, timeout: float = 30.0) -> None:
        """Until at least ``n`` more requests have completed (load is flowing)."""
        target = len(self.outcomes) + n
        wait_until(lambda: len(self.outcomes) >= target, timeout=timeout, desc=f"{n} more requests through the LB")

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def in_flight_at(self, t: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.start <= t <= o.end]

    def ok_ids(self) -> set[str]:
        ids = {o.call_id for o in self.ok if o.call_id}
        assert len(ids) == len(self.ok), "every successful response carries its own x-litellm-call-id"
        return ids
