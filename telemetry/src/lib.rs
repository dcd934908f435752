//! Tollgate's observability, shared by both planes: logs (text or JSON),
//! traces (OpenTelemetry over OTLP, gRPC or HTTP/protobuf) and Prometheus
//! metrics. See docs/OBSERVABILITY.md for every span, attribute and metric.
//!
//! Tracing is installed once per process ([`init`]) and stays dormant until
//! [`enable`] is called — from the standard `OTEL_*` variables at start, or
//! when the config asks for it (`litellm_settings.callbacks: ["otel"]`).
//! Dormant means no exporter and no OpenTelemetry span is ever built: the
//! layer's filter rejects every callsite.

pub mod config;
mod export;
pub mod exposition;
pub mod http;
mod logs;
pub mod metrics;
pub mod propagation;
mod sampling;
pub mod semconv;

pub use config::{OtelSettings, Service};
pub use export::{TelemetryError, dropped_spans, enable, enabled, shutdown};
pub use propagation::{TraceIds, current_trace, recording};

/// A target whose spans and events are exported. Also exported: spans with
/// an `otel.kind` field, and events with a `tollgate.*` field (`trace!(tollgate.auth.result = "ok", "tollgate.auth")`).
/// The rest of `tracing` stays log-only.
pub const TARGET: &str = "tollgate::otel";

/// Installs logging and the (dormant) trace pipeline. Call once, first
/// thing in `main`; a second call keeps the first set-up.
pub fn init(service: Service) {
    logs::install(service);
    if config::from_env_enabled() {
        // Standard OTLP variables set: traces are wanted from the start.
        // The exporter needs the Tokio runtime; `main` runs inside it.
        if let Err(e) = enable(None) {
            tracing::warn!("OpenTelemetry export not started: {e}");
        }
    }
}
