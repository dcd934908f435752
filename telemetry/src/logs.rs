//! The subscriber: logs to stderr (text, or JSON with
//! `TOLLGATE_LOG_FORMAT=json` / LiteLLM's `JSON_LOGS=True`), and the
//! OpenTelemetry layer, which sees only spans and events under
//! [`crate::TARGET`] and only once tracing is enabled.

use crate::export::ENABLED;
use opentelemetry::trace::TracerProvider as _;
use std::sync::atomic::Ordering;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::{DynFilterFn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,h2=warn,hyper=warn,tower=warn,notify=warn,opentelemetry=warn";

/// JSON logs asked for, Tollgate's way or LiteLLM's.
pub fn json_wanted() -> bool {
    std::env::var("TOLLGATE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
        || std::env::var("JSON_LOGS").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

pub(crate) fn install(service: crate::Service) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Logs go to stderr (stdout is for what a user must read, such as the URL).
    let fmt_layer = if json_wanted() {
        // The current span and its parents carry `request_id` and
        // `trace_id` (the request's SERVER span): every line of a request
        // names both.
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    } else {
        fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed()
    };
    let tracer = crate::export::provider(service).tracer("tollgate");
    // Which callsites may ever be exported is static (decided once per
    // callsite); whether one is, right now, is not: export may be switched
    // on after start (`callbacks: ["otel"]`), and nothing is built below an
    // unsampled request. A plain `FilterFn` would cache its first answer per
    // callsite forever, so the dynamic half is asked on every span.
    fn exportable(meta: &tracing::Metadata<'_>) -> bool {
        meta.target() == crate::TARGET
            || meta.fields().field("otel.kind").is_some()
            || (meta.is_event()
                && meta
                    .fields()
                    .iter()
                    .any(|f| f.name().starts_with("tollgate.")))
    }
    // The callsite filter is only a hint (a callsite another layer wants is
    // still asked here), so the static half is checked again per span.
    let exported = DynFilterFn::new(|meta, _cx| {
        ENABLED.load(Ordering::Relaxed)
            && exportable(meta)
            && !crate::propagation::in_unsampled_request()
    })
    .with_callsite_filter(|meta| {
        if exportable(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    });
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        // No `busy_ns` / `idle_ns`: tracking them reads the clock on every
        // enter and exit of every span, unsampled requests' SERVER span
        // included (polled many times per request), and no GenAI or HTTP
        // convention has them.
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_level(false)
        .with_filter(exported);
    // A second init (tests, the all-in-one launcher) keeps the first one.
    let _ = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .try_init();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
}
