"""An OTLP/gRPC trace receiver for the e2e suite: what Jaeger would receive, kept in memory.

Any suite can use it::

    from otlp_receiver import OtlpReceiver
    with OtlpReceiver() as otlp:            # listens on 127.0.0.1:<free port>
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        ...
        spans = otlp.wait_for_trace(trace_id, lambda spans: len(spans) >= 2)

Spans are flattened into ``Span`` records (hex ids, attributes as Python values, the
resource's ``service.name``), so assertions read like the Jaeger UI.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2

from harness import free_port, wait_until

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
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Service(self), self._server)
        self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    def __enter__(self) -> OtlpReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def _store(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
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
                            raw=s,
                        )
                    )
        with self._lock:
            self._spans.extend(batch)

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
