//! The HTTP layer both planes put around their routes: one SERVER span per
//! request (`{method} {route template}`), continuing the caller's W3C
//! trace; the request id (`x-litellm-call-id`) handlers answer with; HTTP
//! duration and in-flight metrics by route template (never by raw path).

use crate::metrics::HttpMetrics;
use crate::propagation::{self, TraceIds};
use crate::sampling::Decision;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument as _;
use tracing::field::Empty;

/// The request's id, made by this layer; handlers answer with it as
/// `x-litellm-call-id` and usage records carry it, so a log line, a span
/// and a spend row of one request share it.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

impl RequestId {
    /// The id the layer gave the request, else a new one (a handler called
    /// without the layer: unit tests).
    pub fn of(extensions: &http::Extensions) -> String {
        extensions
            .get::<RequestId>()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |r| r.0.to_string())
    }
}

/// `axum::middleware::from_fn_with_state(metrics, telemetry::http::layer)`,
/// applied with `route_layer` so the route template is known.
pub async fn layer(
    axum::extract::State(metrics): axum::extract::State<Arc<HttpMetrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route: Arc<str> = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| Arc::from("unmatched"), |p| Arc::from(p.as_str()));
    let method = request.method().clone();
    let request_id: Arc<str> = Arc::from(uuid::Uuid::new_v4().to_string());
    request
        .extensions_mut()
        .insert(RequestId(Arc::clone(&request_id)));
    let decision = Decision::for_request(request.headers());
    let span = decision.server_span(|| {
        tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = Empty,
            url.scheme = "http",
            error.type = Empty,
            user_agent.original = Empty,
            tollgate.request_id = %request_id,
            request_id = %request_id,
            trace_id = Empty,
        )
    });
    if matches!(decision, Decision::Sampled { .. })
        && let Some(agent) = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
    {
        span.record("user_agent.original", agent);
    }
    // Logs join traces: the request's trace (exported or not), else, with
    // tracing off, the caller's.
    let ids = match &decision {
        Decision::Sampled { .. } => propagation::ids_of(&span),
        Decision::Unsampled(cx) => TraceIds::of_context(cx),
        Decision::Off => None,
    }
    .or_else(|| {
        request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(TraceIds::from_traceparent)
    });
    if let Some(ids) = &ids {
        span.record("trace_id", ids.trace_id.as_str());
    }
    let handles = metrics.route(&method, &route);
    let in_flight = handles.start();
    let response = propagation::with_trace(
        // Usage records take the SERVER span's ids; without export there
        // is no span of ours to point at.
        crate::enabled().then(|| ids.clone()).flatten(),
        propagation::with_unsampled(
            decision.unsampled(),
            next.run(request).instrument(span.clone()),
        ),
    )
    .await;
    let status = response.status();
    // i64: tracing-opentelemetry exports unsigned fields as strings.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.as_str());
    }
    tracing::debug!(target: "tollgate::access", parent: &span, status = status.as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "request served");
    let streamed = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streamed {
        handles.finish(status.as_u16(), started.elapsed());
        drop(in_flight);
        return response;
    }
    // A stream's SERVER span, duration and in-flight count end with its
    // last byte, not with its headers.
    let (parts, body) = response.into_parts();
    let guard = StreamGuard {
        span,
        _in_flight: in_flight,
        handles,
        started,
        status: status.as_u16(),
    };
    let body = body.into_data_stream().map(move |chunk| {
        if chunk.is_err() {
            guard.span.record("error.type", "stream_error");
        }
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// Held by a streamed body; records the request when the body drops.
struct StreamGuard {
    span: tracing::Span,
    _in_flight: crate::metrics::InFlight,
    handles: crate::metrics::RouteHandles,
    started: Instant,
    status: u16,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.handles.finish(self.status, self.started.elapsed());
    }
}
