"""Typed handles on the Tollgate processes under test: mock provider, control
plane, data planes, the one-command launcher, and a cluster of them."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import yaml

from harness import Harness, Process, bin_path, free_port, http_client, wait_until

READY_TIMEOUT = 20.0  # seconds for any process to become ready


# --------------------------------------------------------------------------- mock


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA and a server certificate for localhost/127.0.0.1 signed by it (openssl CLI)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca-key.pem"
    cert, key, csr = directory / "cert.pem", directory / "key.pem", directory / "cert.csr"
    ext = directory / "leaf.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for cmd in (
        ["openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=tollgate-e2e-ca",
         "-keyout", ca_key, "-out", ca],
        ["openssl", "req", *ec, "-subj", "/CN=localhost", "-keyout", key, "-out", csr],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", cert],
    ):  # fmt: skip
        subprocess.run([str(c) for c in cmd], check=True, capture_output=True)
    return TlsFiles(ca=ca, cert=cert, key=key)


class MockProvider:
    """The scriptable provider mock (`tollgate-mock-provider`)."""

    def __init__(self, proc: Process) -> None:
        self.proc = proc
        self.url = ""  # http://127.0.0.1:PORT, known once started

    def start(self) -> MockProvider:
        self.proc.start()
        m = self.proc.wait_for_stdout_line(r"listening on (http://\S+)", timeout=READY_TIMEOUT)
        self.url = m.group(1).rstrip("/")
        return self

    @property
    def api_base(self) -> str:
        """What a LiteLLM config puts in ``api_base``."""
        return f"{self.url}/v1"

    def requests(self) -> list[dict[str, Any]]:
        """Requests the provider received, oldest first (its own /__mock API excluded)."""
        with http_client() as c:
            r = c.get(f"{self.url}/__mock/requests")
        r.raise_for_status()
        return [q for q in r.json()["requests"] if not q["path"].startswith("/__mock")]

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/chat/completions")]

    def clear(self) -> None:
        with http_client() as c:
            r = c.delete(f"{self.url}/__mock/requests")
        r.raise_for_status()
        assert self.requests() == [], "mock request log not cleared"

    def add_fault(self, model: str, status: int, times: int) -> None:
        with http_client() as c:
            r = c.post(f"{self.url}/__mock/faults", json={"model": model, "status": status, "times": times})
        r.raise_for_status()


# ------------------------------------------------------------------------- config


def default_config(mock: MockProvider, master_key: str) -> dict[str, Any]:
    """A LiteLLM ``litellm_config.yaml`` exercising every routing path under test."""

    def upstream(model_name: str, model: str) -> dict[str, Any]:
        return {
            "model_name": model_name,
            "litellm_params": {
                "model": model,
                "api_base": mock.api_base,
                "api_key": "os.environ/MOCK_PROVIDER_KEY",
            },
        }

    return {
        "model_list": [
            upstream("gpt-4o-mini", "openai/gpt-4o-mini"),
            {
                "model_name": "local-mock",
                "litellm_params": {"model": "openai/gpt-4o", "mock_response": "Hello from Tollgate"},
            },
            upstream("rate-limited", "openai/mock-429"),
            upstream("server-error", "openai/mock-500"),
            upstream("context-too-long", "openai/mock-context-length"),
        ],
        "general_settings": {"master_key": master_key},
    }


def model_names(config: Mapping[str, Any]) -> list[str]:
    return [m["model_name"] for m in config["model_list"]]


# ---------------------------------------------------------------------- postgres


def pg_connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def spend_log_stats(db_url: str) -> tuple[int, int] | None:
    """(rows, distinct request ids) in ``spend_logs``, or None if the table is not there yet."""
    with pg_connect(db_url) as conn:
        try:
            row = conn.execute("SELECT count(*), count(DISTINCT request_id) FROM spend_logs").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    assert row is not None
    return int(row[0]), int(row[1])


def spend_row(db_url: str, request_id: str) -> dict[str, Any] | None:
    """One request's ``spend_logs`` row by column name, or None until it is delivered."""
    with pg_connect(db_url) as conn:
        cur = conn.execute("SELECT * FROM spend_logs WHERE request_id = %s", (request_id,))
        row = cur.fetchone()
        return None if row is None else dict(zip([d.name for d in cur.description], row, strict=True))


def recorded_tokens(db_url: str, request_id: str) -> tuple[int, int]:
    """(prompt, completion) tokens of one request in spend_logs, once delivered."""
    row = wait_until(lambda: spend_row(db_url, request_id), timeout=20.0, interval=0.2, desc=f"spend_logs row for {request_id}")
    return row["prompt_tokens"], row["completion_tokens"]


# -------------------------------------------------------------------- data plane


class ServesOpenAI:
    """Something that serves Tollgate's OpenAI-compatible API on ``base_url``."""

    base_url: str
    master_key: str

    def openai_client(self, api_key: str | None = None, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.base_url}/v1",
            api_key=self.master_key if api_key is None else api_key,
            max_retries=0,
            timeout=kwargs.pop("timeout", 15.0),
            **kwargs,
        )

    def http(self, timeout: float = 15.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}

    def model_ids(self, path: str = "/v1/models") -> list[str]:
        with self.http(timeout=2.0) as c:
            r = c.get(path, headers=self.auth_headers())
        assert r.status_code == 200, f"GET {path} -> {r.status_code} {r.text}"
        return [m["id"] for m in r.json()["data"]]


class DataPlane(ServesOpenAI):
    def __init__(
        self,
        harness: Harness,
        *,
        name: str,
        node_id: str,
        control_plane_url: str,
        cluster_token: str,
        state_dir: Path,
        master_key: str,
        tls_ca: Path | None = None,
        listen_host: str = "127.0.0.1",
        argv_prefix: tuple[str, ...] = (),
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """``control_plane_url`` may list several control planes, comma-separated.
        ``argv_prefix`` runs the binary through another command (tests/cluster: ``ip netns
        exec NS``), which must exec it so signals reach the data plane itself."""
        self.name = name
        self.node_id = node_id
        self.port = free_port()
        self.listen_host = listen_host
        self.base_url = f"http://{listen_host}:{self.port}"
        self.state_dir = state_dir
        self.master_key = master_key
        self.cluster_token = cluster_token
        self.proc = harness.spawn(
            name,
            [
                *argv_prefix,
                bin_path("tollgate-data-plane"),
                "--listen", f"{listen_host}:{self.port}",
                "--control-plane", control_plane_url,
                "--cluster-token", cluster_token,
                "--node-id", node_id,
                "--state-dir", state_dir,
                *(["--tls-ca", tls_ca] if tls_ca else []),
                *extra_args,
            ],
        )  # fmt: skip

    def start(self, wait_ready: bool = True) -> DataPlane:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.proc.start()
        if wait_ready:
            self.wait_ready()
        else:
            self.wait_live()
        return self

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()

    def restart(self, wait_ready: bool = True) -> DataPlane:
        self.proc.stop()
        return self.start(wait_ready=wait_ready)

    def liveness(self) -> int:
        with self.http(timeout=1.0) as c:
            return c.get("/health/liveliness").status_code

    def readiness(self) -> tuple[int, dict[str, Any]]:
        with self.http(timeout=1.0) as c:
            r = c.get("/health/readiness")
        return r.status_code, r.json()

    def wait_live(self, timeout: float = READY_TIMEOUT) -> None:
        wait_until(
            lambda: self.liveness() == 200,
            timeout=timeout,
            desc=f"{self.name} liveness 200",
            fail_fast=self.proc.exit_reason,
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            status, body = self.readiness()
            return body if status == 200 and body.get("status") == "healthy" else None

        return wait_until(probe, timeout=timeout, desc=f"{self.name} readiness 200", fail_fast=self.proc.exit_reason)


# ----------------------------------------------------------------- control plane


class ControlPlane:
    def __init__(
        self,
        harness: Harness,
        *,
        config_path: Path,
        database_url: str,
        data_dir: Path,
        cluster_token: str,
        master_key: str,
        env: Mapping[str, str],
        tls: TlsFiles | None = None,
        name: str = "control-plane",
        grpc_host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self.grpc_port = free_port()
        self.http_port = free_port()
        # With TLS the URL names the host the certificate was issued for.
        self.grpc_url = (
            f"https://localhost:{self.grpc_port}" if tls else f"http://{grpc_host}:{self.grpc_port}"
        )
        tls_args = ["--tls-cert", tls.cert, "--tls-key", tls.key] if tls else []
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.master_key = master_key
        self.database_url = database_url
        self.proc = harness.spawn(
            name,
            [
                bin_path("tollgate-control-plane"),
                "--config", config_path,
                "--database-url", database_url,
                "--data-dir", data_dir,
                "--grpc-listen", f"{grpc_host}:{self.grpc_port}",
                "--http-listen", f"127.0.0.1:{self.http_port}",
                "--cluster-token", cluster_token,
                *tls_args,
            ],
            env=env,
        )  # fmt: skip
        data_dir.mkdir(parents=True, exist_ok=True)

    def healthy(self) -> bool:
        try:
            with http_client(timeout=1.0) as c:
                return c.get(f"{self.http_url}/health").status_code == 200
        except httpx.TransportError:
            return False

    def health(self) -> tuple[int, dict[str, Any] | str]:
        """``/health``: 200 when active; 503 ``{"status": "starting" | "standby"}`` before."""
        with http_client(timeout=1.0) as c:
            r = c.get(f"{self.http_url}/health")
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return r.status_code, (r.json() if is_json else r.text)

    def liveness(self) -> int:
        with http_client(timeout=1.0) as c:
            return c.get(f"{self.http_url}/health/liveliness").status_code

    def start(self, wait_healthy: bool = True) -> ControlPlane:
        """``wait_healthy=False`` for a standby, which answers ``/health`` 503 until elected."""
        self.proc.start()
        if wait_healthy:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> None:
        wait_until(
            self.healthy, timeout=timeout, desc=f"{self.name} /health 200", fail_fast=self.proc.exit_reason
        )

    def kill(self) -> None:
        self.proc.kill()

    def stop(self) -> None:
        self.proc.stop()

    def status_response(self, api_key: str | None = None) -> httpx.Response:
        headers = {} if api_key == "" else {"Authorization": f"Bearer {api_key or self.master_key}"}
        with http_client(timeout=2.0) as c:
            return c.get(f"{self.http_url}/api/status", headers=headers)

    def status(self) -> dict[str, Any]:
        r = self.status_response()
        assert r.status_code == 200, f"GET /api/status -> {r.status_code} {r.text}"
        return r.json()

    def node(self, node_id: str) -> dict[str, Any] | None:
        for dp in self.status()["data_planes"]:
            if dp["node_id"] == node_id:
                return dp
        return None


# ----------------------------------------------------------------------- cluster


class Cluster:
    """A control plane on PostgreSQL plus any number of data planes, all on loopback."""

    def __init__(
        self, harness: Harness, *, root: Path, mock: MockProvider, pg_url: str, tls: bool = False
    ) -> None:
        self.harness = harness
        self.root = root
        self.mock = mock
        root.mkdir(parents=True, exist_ok=True)
        self.master_key = f"sk-e2e-master-{secrets.token_hex(8)}"
        self.provider_key = f"sk-e2e-provider-{secrets.token_hex(8)}"
        self.cluster_token = f"e2e-cluster-{secrets.token_hex(16)}"
        self.config_path = root / "litellm_config.yaml"
        self.config: dict[str, Any] = default_config(mock, self.master_key)
        self.write_config(self.config)
        self.tls = make_tls_files(root / "tls") if tls else None
        self.cp = ControlPlane(
            harness,
            config_path=self.config_path,
            database_url=pg_url,
            data_dir=root / "cp-data",
            cluster_token=self.cluster_token,
            master_key=self.master_key,
            env={"MOCK_PROVIDER_KEY": self.provider_key},
            tls=self.tls,
        )
        self.dps: list[DataPlane] = []

    def write_config(self, config: Mapping[str, Any] | str) -> float:
        """Rewrite the config file in place; returns the monotonic time the write completed.

        Accepts a dict (dumped as YAML, remembered as ``self.config``) or raw text
        (for deliberately broken files).
        """
        if isinstance(config, str):
            text = config
        else:
            self.config = dict(config)
            text = yaml.safe_dump(self.config, sort_keys=False)
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        return time.monotonic()

    def add_data_plane(
        self,
        *,
        start: bool = True,
        wait_ready: bool = True,
        cluster_token: str | None = None,
        trust_tls: bool = True,
    ) -> DataPlane:
        idx = len(self.dps) + 1
        dp = DataPlane(
            self.harness,
            name=f"data-plane-{idx}",
            node_id=f"dp-{idx}-{uuid.uuid4().hex[:6]}",
            control_plane_url=self.cp.grpc_url,
            cluster_token=cluster_token or self.cluster_token,
            state_dir=self.root / f"dp-{idx}-state",
            master_key=self.master_key,
            tls_ca=self.tls.ca if (self.tls and trust_tls) else None,
        )
        self.dps.append(dp)
        if start:
            dp.start(wait_ready=wait_ready)
        return dp

    def wait_in_sync(
        self, dps: list[DataPlane] | None = None, *, min_version: int = 0, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll /api/status until every given data plane is connected and in sync with the snapshot."""
        dps = self.dps if dps is None else dps
        want = {dp.node_id for dp in dps}

        def probe() -> dict[str, Any] | None:
            st = self.cp.status()
            snap = st["snapshot"]
            if snap["version"] < min_version:
                return None
            nodes = {n["node_id"]: n for n in st["data_planes"]}
            for node_id in want:
                n = nodes.get(node_id)
                if not (
                    n
                    and n["connected"] is True
                    and n["in_sync"] is True
                    and n["applied_version"] == snap["version"]
                    and n["applied_hash"] == snap["content_hash"]
                ):
                    return None
            return st

        return wait_until(
            probe, timeout=timeout, interval=0.1, desc=f"data planes {sorted(want)} in sync (version >= {min_version})"
        )


# ---------------------------------------------------------------------- launcher


class Launcher(ServesOpenAI):
    """``tollgate --config ... --port ...``: control plane on SQLite + data plane in one process."""

    def __init__(self, harness: Harness, *, config_path: Path, data_dir: Path, master_key: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.master_key = master_key
        self.data_dir = data_dir
        # Off the default admin port 50051, which a developer's gateway may hold.
        self.grpc_port = free_port()
        self.grpc_url = f"http://127.0.0.1:{self.grpc_port}"
        self.proc = harness.spawn(
            "tollgate",
            [
                bin_path("tollgate"),
                "--config", config_path,
                "--port", str(self.port),
                "--host", "127.0.0.1",
                "--data-dir", data_dir,
                "--grpc-port", str(self.grpc_port),
            ],
        )  # fmt: skip

    def start(self) -> Launcher:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc.start()
        self.proc.wait_for_stdout_line(r"http://", timeout=READY_TIMEOUT)

        def serving() -> bool:
            with self.http(timeout=1.0) as c:
                return c.get("/v1/models", headers=self.auth_headers()).status_code == 200

        wait_until(
            serving, timeout=READY_TIMEOUT, desc="tollgate launcher serving /v1/models", fail_fast=self.proc.exit_reason
        )
        return self


# ------------------------------------------------------------------------ bedrock

# The secret Bedrock deployments sign with; the mock provider (started by the
# session, which inherits this environment) verifies SigV4 signatures with it.
MOCK_AWS_ACCESS_KEY_ID = "AKIAMOCKE2ETEST"
MOCK_AWS_SECRET_ACCESS_KEY = "mock-e2e-aws-secret/K7MDENG+bPxRfiCYEXAMPLEKEY"
os.environ.setdefault("MOCK_AWS_SECRET_ACCESS_KEY", MOCK_AWS_SECRET_ACCESS_KEY)


def bedrock_deployment(mock: MockProvider, model_name: str, model_id: str, **params: Any) -> dict[str, Any]:
    """A ``bedrock/`` deployment pointed at the mock, signing with the mock's secret."""
    return {
        "model_name": model_name,
        "litellm_params": {
            "model": f"bedrock/{model_id}",
            "api_base": mock.url,
            "aws_access_key_id": MOCK_AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": MOCK_AWS_SECRET_ACCESS_KEY,
            "aws_region_name": "us-east-1",
            **params,
        },
    }
