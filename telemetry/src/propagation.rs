//! W3C trace context across the gateway: continue the caller's
//! `traceparent`/`tracestate` on the way in, inject the provider attempt's
//! own context on the way out (never the caller's header verbatim, so the
//! provider's span is a child of the attempt, not a sibling), and the
//! request's ids for usage records and logs.

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::HeaderExtractor;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A request's trace and SERVER span id, lowercase hex (32 and 16 digits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceIds {
    pub trace_id: String,
    pub span_id: String,
}

impl TraceIds {
    fn of(span: &tracing::Span) -> Option<Self> {
        Self::of_context(&span.context())
    }

    pub(crate) fn of_context(cx: &opentelemetry::Context) -> Option<Self> {
        let span = cx.span();
        let sc = span.span_context();
        // `hex`, not `Display`: the same lowercase digits without the
        // formatting machinery, on every request of a traced gateway.
        sc.is_valid().then(|| TraceIds {
            trace_id: hex::encode(sc.trace_id().to_bytes()),
            span_id: hex::encode(sc.span_id().to_bytes()),
        })
    }

    /// The trace id of a well-formed `traceparent` (for logs when export is
    /// off: a request still joins its caller's trace in the logs).
    pub fn from_traceparent(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, _flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        (hex(version, 2)
            && version != "ff"
            && hex(trace, 32)
            && hex(span, 16)
            && trace.bytes().any(|b| b != b'0'))
        .then(|| TraceIds {
            trace_id: trace.to_ascii_lowercase(),
            span_id: span.to_ascii_lowercase(),
        })
    }
}

tokio::task_local! {
    static REQUEST_TRACE: Option<TraceIds>;
    static INJECT: bool;
    /// Set for the handler of a request whose trace is not sampled: the
    /// context its SERVER span would have had (valid, sampled flag off;
    /// `sampling::Decision`).
    static UNSAMPLED: Option<opentelemetry::Context>;
}

/// Are the current request's spans exported: tracing on, and (within the
/// handler) its trace sampled? Attributes that cost work to compute — a
/// JSON parse per streamed chunk — are only worth filling then; with export
/// off the spans still exist for the log lines, which do not print them.
/// A response body polled after the handler returned is outside the
/// sampling scope and counts as sampled.
pub fn recording() -> bool {
    crate::enabled() && !in_unsampled_request()
}

/// Inside a request whose trace is not sampled (or creating its SERVER
/// span)? The OpenTelemetry layer then builds nothing: `tracing-opentelemetry`
/// would assemble every span's data only for the SDK to drop it when the
/// span ends (`sampling.rs`).
pub(crate) fn in_unsampled_request() -> bool {
    crate::sampling::building_unsampled() || UNSAMPLED.try_with(Option::is_some).unwrap_or(false)
}

/// Runs a request's handler; `unsampled` is the context of a request whose
/// trace is not sampled (`sampling::Decision`), `None` otherwise.
pub(crate) async fn with_unsampled<F: Future>(
    unsampled: Option<opentelemetry::Context>,
    f: F,
) -> F::Output {
    UNSAMPLED.scope(unsampled, f).await
}

/// Runs a provider call with injection on or off (a deployment's
/// `propagate_trace_context`): some providers refuse unknown headers, and
/// a SigV4 signature would not cover it.
pub async fn with_injection<F: Future>(on: bool, f: F) -> F::Output {
    INJECT.scope(on, f).await
}

/// The trace of the request being served on this task (set by the HTTP
/// layer for the handler's whole run), for its usage record.
pub fn current_trace() -> Option<TraceIds> {
    REQUEST_TRACE.try_with(Clone::clone).ok().flatten()
}

/// Runs `f` with `ids` as the current request's trace.
pub(crate) async fn with_trace<F: Future>(ids: Option<TraceIds>, f: F) -> F::Output {
    REQUEST_TRACE.scope(ids, f).await
}

/// Makes `span` continue the trace in `headers` (an invalid or absent
/// `traceparent` leaves it a root).
pub fn continue_from(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The ids of `span` once exported, else none.
pub fn ids_of(span: &tracing::Span) -> Option<TraceIds> {
    if !crate::enabled() || span.is_disabled() {
        return None;
    }
    TraceIds::of(span)
}

/// Writes the current span's context (the provider attempt's, on the
/// provider call path) as `traceparent`/`tracestate`, replacing any the
/// request carried. Nothing when tracing is off.
pub fn inject_current(headers: &mut http::HeaderMap) {
    if !crate::enabled() || !INJECT.try_with(|on| *on).unwrap_or(true) {
        return;
    }
    // Below an unsampled SERVER span no span of ours has a context: the
    // provider still gets the trace, unsampled, so it samples alike.
    let unsampled = UNSAMPLED.try_with(Clone::clone).ok().flatten();
    let cx = match unsampled {
        Some(cx) => cx,
        None => {
            let span = tracing::Span::current();
            if span.is_disabled() {
                return;
            }
            span.context()
        }
    };
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return;
    }
    // What the SDK's W3C propagator (the only one installed, `logs.rs`)
    // writes, without its `format!`: this runs for every provider call of
    // a traced gateway, sampled or not.
    headers.insert(TRACEPARENT, traceparent(sc));
    match http::HeaderValue::from_str(&sc.trace_state().header()) {
        Ok(state) => headers.insert(TRACESTATE, state),
        Err(_) => headers.remove(TRACESTATE),
    };
}

pub(crate) const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
const TRACESTATE: http::HeaderName = http::HeaderName::from_static("tracestate");

/// `00-<trace id>-<span id>-<flags>`, the sampled bit only (W3C version 00).
fn traceparent(sc: &opentelemetry::trace::SpanContext) -> http::HeaderValue {
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
    // Both slices are exactly twice the id's length: encoding cannot fail.
    let _ = hex::encode_to_slice(sc.trace_id().to_bytes(), &mut out[3..35]);
    let _ = hex::encode_to_slice(sc.span_id().to_bytes(), &mut out[36..52]);
    if sc.is_sampled() {
        out[54] = b'1';
    }
    // Hex digits and dashes only: always a valid header value.
    http::HeaderValue::from_bytes(&out).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

/// Links `span` to another trace's span (hex ids, as usage records carry
/// them): a batch span pointing at the requests in it. At most 128 links
/// per span are kept (the SDK's limit).
pub fn link(span: &tracing::Span, trace_id: &str, span_id: &str) {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let (Ok(t), Ok(s)) = (TraceId::from_hex(trace_id), SpanId::from_hex(span_id)) else {
        return;
    };
    span.add_link(SpanContext::new(
        t,
        s,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
}

/// The current span's context as gRPC metadata (`traceparent`,
/// `tracestate`): a data plane's management route calling AdminService,
/// whose span then joins the request's trace.
pub fn inject_into_metadata(metadata: &mut tonic::metadata::MetadataMap) {
    let mut headers = http::HeaderMap::new();
    inject_current(&mut headers);
    for name in ["traceparent", "tracestate"] {
        if let Some(value) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
        {
            metadata.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_traceparent_as_the_sdk_propagator_does() {
        use opentelemetry::propagation::TextMapPropagator as _;
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let propagator = opentelemetry_sdk::propagation::TraceContextPropagator::new();
        for flags in [TraceFlags::SAMPLED, TraceFlags::default()] {
            let sc = SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
                SpanId::from(0x00f0_67aa_0ba9_02b7),
                flags,
                false,
                TraceState::from_key_value([("vendor", "1")]).expect("valid"),
            );
            let cx = opentelemetry::Context::new().with_remote_span_context(sc.clone());
            let mut theirs = http::HeaderMap::new();
            propagator.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(&mut theirs));
            assert_eq!(Some(&traceparent(&sc)), theirs.get("traceparent"));
        }
    }

    #[test]
    fn reads_only_well_formed_traceparents() {
        let ids =
            TraceIds::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .expect("valid");
        assert_eq!(ids.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ids.span_id, "00f067aa0ba902b7");
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-xyz",
        ] {
            assert_eq!(TraceIds::from_traceparent(bad), None, "{bad}");
        }
    }
}
