"""An OTLP/gRPC trace receiver for the e2e suite: what Jaeger would receive, kept in memory.

Any suite can use it::

    from otlp_receiver import OtlpReceiver
    with OtlpReceiver() as otlp:            # listens on 127.0.0.1:<free port>
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        ...
        spans = otlp.wait_for_trace(trace_id, lambda spans: len(spans) >= 2)

Spans are flattened into ``Span`` records (hex ids, attributes as Python values, the
resource's ``service.name``), so assertions read like the Jaeger UI.

Standalone, as a sink that counts and discards (the tracing benchmark's OTLP endpoint)::

    python tests/e2e/otlp_receiver.py --port 4317 --discard
"""

from __future__ import annotations

import os
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from dataclasses import dataclass, field
from typing import Any, Callable

# The suite forks binaries while this server's threads run: grpcio's fork handlers
# (pthread_atfork) would run in the child between fork and exec and can abort it.
# Read when grpc's core starts, so before the import.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc  # noqa: E402
from opentelemetry.proto.common.v1 import common_pb2  # noqa: E402

from harness import free_port, wait_until  # noqa: E402

KIND = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def _value(v: common_pb2.AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


@dataclass
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    links: list[tuple[str, str]]
    status_code: int  # 0 unset, 1 ok, 2 error
    start_ns: int
    end_ns: int
    resource: dict[str, Any] = field(default_factory=dict)
    raw: Any = field(repr=False, default=None)

    def all_strings(self) -> list[str]:
        """Every string this span carries (attribute and event values, names): for secret checks."""
        out = [self.name]
        for v in self.attributes.values():
            out.append(str(v))
        for name, attrs in self.events:
            out.append(name)
            out.extend(str(x) for x in attrs.values())
        return out


class _Service(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request, context):  # noqa: N802 (gRPC's name)
        self.receiver._store(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpReceiver:
    """OTLP/gRPC on ``endpoint`` and OTLP/HTTP (protobuf, ``POST /v1/traces``) on ``http_endpoint``."""

    def __init__(self, port: int | None = None, keep: bool = True) -> None:
        self.port = port or free_port()
        # keep=False: count spans and drop them (a sink under load keeps no memory).
        self.keep = keep
        self.received = 0
        self.endpoint = f"http://127.0.0.1:{self.port}"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver._store(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                out = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_endpoint = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Service(self), self._server)
        self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    def __enter__(self) -> OtlpReceiver:
        self._server.start()
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()

    def _store(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        if not self.keep:
            n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            with self._lock:
                self.received += n
            return
        batch = []
        for rs in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    batch.append(
                        Span(
                            service=str(resource.get("service.name", "")),
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_span_id=s.parent_span_id.hex(),
                            name=s.name,
                            kind=KIND.get(s.kind, str(s.kind)),
                            attributes={kv.key: _value(kv.value) for kv in s.attributes},
                            events=[(e.name, {kv.key: _value(kv.value) for kv in e.attributes}) for e in s.events],
                            links=[(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                            status_code=s.status.code,
                            start_ns=s.start_time_unix_nano,
                            end_ns=s.end_time_unix_nano,
                            resource=resource,
                            raw=s,
                        )
                    )
        with self._lock:
            self._spans.extend(batch)
            self.received += len(batch)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans() if s.trace_id == trace_id]

    def wait_for_trace(
        self, trace_id: str, complete: Callable[[list[Span]], bool], timeout: float = 10.0
    ) -> list[Span]:
        """The trace's spans once ``complete`` holds for them (export is asynchronous)."""

        def probe() -> list[Span] | None:
            spans = self.trace(trace_id)
            return spans if complete(spans) else None

        return wait_until(probe, timeout=timeout, interval=0.05, desc=f"trace {trace_id} exported")

    def wait_for(self, match: Callable[[Span], bool], timeout: float = 10.0) -> Span:
        def probe() -> Span | None:
            return next((s for s in self.spans() if match(s)), None)

        return wait_until(probe, timeout=timeout, interval=0.05, desc="span exported")


def main() -> None:
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="OTLP trace receiver (gRPC and HTTP/protobuf)")
    parser.add_argument("--port", type=int, default=0, help="gRPC port (default: a free one)")
    parser.add_argument("--discard", action="store_true", help="count spans, keep none")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with OtlpReceiver(port=args.port or None, keep=not args.discard) as receiver:
        print(f"listening grpc={receiver.endpoint} http={receiver.http_endpoint}", flush=True)
        stop.wait()
        print(f"spans received: {receiver.received}", flush=True)


if __name__ == "__main__":
    main()
