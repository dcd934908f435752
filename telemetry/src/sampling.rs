//! A request's sampling decision, made before its SERVER span exists.
//!
//! `tracing-opentelemetry` turns a span into OpenTelemetry data (a span
//! builder, every field as an attribute, later the SDK span) when the span
//! is created; the SDK's sampler decides only when that span is started.
//! So at 10 % sampling nine requests in ten paid for a SERVER span that was
//! built, recorded into and dropped (measured: most of tracing's cost,
//! docs/PERFORMANCE.md). Here the HTTP layer asks the same sampler first,
//! with the trace id the span will have. An unsampled request's SERVER span
//! is never handed to the OpenTelemetry layer; the context it would have
//! had (the caller's trace, a span id of its own, the sampled flag off) is
//! still what the provider receives and what the usage record points at. A
//! sampled request's SERVER span is built as before, and a root one is
//! given the trace id the decision was made on (`PresetIds`), so the SDK's
//! own sampler — deterministic in the trace id, like every sampler
//! `OTEL_TRACES_SAMPLER` can name — reaches the same answer.

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceId,
};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample};
use std::cell::Cell;
use std::sync::OnceLock;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

static SAMPLER: OnceLock<Box<dyn ShouldSample>> = OnceLock::new();

thread_local! {
    /// The trace id the next root span started on this thread takes.
    static PRESET_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
    /// Set while an unsampled request's SERVER span is created: the
    /// OpenTelemetry layer's filter then refuses it.
    static BUILDING_UNSAMPLED: Cell<bool> = const { Cell::new(false) };
}

/// The sampler `OTEL_TRACES_SAMPLER` / `_ARG` name, as the SDK reads them
/// (default: parent-based, always on). The provider and the early decision
/// use the same one.
pub(crate) fn sampler() -> Box<dyn ShouldSample> {
    sampler_ref().box_clone()
}

fn sampler_ref() -> &'static dyn ShouldSample {
    SAMPLER
        .get_or_init(|| opentelemetry_sdk::trace::Config::default().sampler)
        .as_ref()
}

/// The provider's id generator: random ids, except the trace id of a root
/// SERVER span, which the decision already drew.
#[derive(Debug, Default)]
pub(crate) struct PresetIds(RandomIdGenerator);

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        PRESET_TRACE_ID
            .take()
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}

pub(crate) fn building_unsampled() -> bool {
    BUILDING_UNSAMPLED.get()
}

/// What the HTTP layer does with one request's trace.
pub(crate) enum Decision {
    /// Tracing is off.
    Off,
    /// Exported: the caller's context (without a valid span for a root)
    /// and, for a root, the trace id its SERVER span gets.
    Sampled {
        parent: Context,
        root_trace: Option<TraceId>,
    },
    /// Not exported: the context the SERVER span would have had.
    Unsampled(Context),
}

impl Decision {
    /// Decides for a request with these headers (W3C `traceparent` and
    /// `tracestate`, through the global propagator).
    pub(crate) fn for_request(headers: &http::HeaderMap) -> Self {
        if !crate::enabled() {
            return Decision::Off;
        }
        // Most requests carry no trace: skip the propagator's lookups.
        let parent = if headers.contains_key(crate::propagation::TRACEPARENT) {
            opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
        } else {
            Context::new()
        };
        Self::with_parent(parent, sampler_ref())
    }

    fn with_parent(parent: Context, sampler: &dyn ShouldSample) -> Self {
        let ids = RandomIdGenerator::default();
        let inherited = {
            let sc = parent.span().span_context().clone();
            sc.is_valid().then(|| sc.trace_id())
        };
        let trace_id = inherited.unwrap_or_else(|| ids.new_trace_id());
        let result =
            sampler.should_sample(Some(&parent), trace_id, "", &SpanKind::Server, &[], &[]);
        match result.decision {
            // RecordOnly is built as before: the SDK records it unsampled.
            SamplingDecision::RecordAndSample | SamplingDecision::RecordOnly => Decision::Sampled {
                root_trace: inherited.is_none().then_some(trace_id),
                parent,
            },
            // As the SDK makes a dropped span's context.
            SamplingDecision::Drop => {
                let sc = SpanContext::new(
                    trace_id,
                    ids.new_span_id(),
                    TraceFlags::default(),
                    false,
                    result.trace_state,
                );
                Decision::Unsampled(parent.with_remote_span_context(sc))
            }
        }
    }

    /// Creates the SERVER span with `build` as the decision says: unseen by
    /// the OpenTelemetry layer when unsampled; when sampled, continuing the
    /// caller's trace and started at once, on this thread, so a root takes
    /// the preset trace id.
    pub(crate) fn server_span(&self, build: impl FnOnce() -> tracing::Span) -> tracing::Span {
        match self {
            Decision::Off => build(),
            Decision::Unsampled(_) => {
                let _flag = Flag::set(&BUILDING_UNSAMPLED);
                build()
            }
            Decision::Sampled { parent, root_trace } => {
                let span = build();
                if parent.span().span_context().is_valid() {
                    let _ = span.set_parent(parent.clone());
                }
                PRESET_TRACE_ID.set(*root_trace);
                let _ = span.context();
                PRESET_TRACE_ID.set(None);
                span
            }
        }
    }

    /// The context an unsampled request's spans and provider calls use.
    pub(crate) fn unsampled(&self) -> Option<Context> {
        match self {
            Decision::Unsampled(cx) => Some(cx.clone()),
            _ => None,
        }
    }
}

/// Clears a thread-local flag when dropped, whatever happens meanwhile.
struct Flag(&'static std::thread::LocalKey<Cell<bool>>);

impl Flag {
    fn set(key: &'static std::thread::LocalKey<Cell<bool>>) -> Self {
        key.set(true);
        Flag(key)
    }
}

impl Drop for Flag {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceState;
    use opentelemetry_sdk::trace::Sampler;

    fn caller(sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state = TraceState::from_key_value([("vendor", "x")]).expect("valid");
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            flags,
            true,
            state,
        ))
    }

    #[test]
    fn a_callers_flag_decides_under_parent_based_sampling() {
        let sampler = Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
        let Decision::Unsampled(cx) = Decision::with_parent(caller(false), &sampler) else {
            panic!("an unsampled caller's request is not sampled");
        };
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id(),
            TraceId::from(7),
            "the caller's trace continues"
        );
        assert_ne!(sc.span_id(), SpanId::from(9), "with a span id of its own");
        assert!(sc.is_valid() && !sc.is_sampled());
        assert_eq!(sc.trace_state().get("vendor"), Some("x"));

        let Decision::Sampled { root_trace, .. } = Decision::with_parent(caller(true), &sampler)
        else {
            panic!("a sampled caller's request is sampled");
        };
        assert_eq!(root_trace, None, "it is not a root");
    }

    #[test]
    fn a_root_is_decided_on_the_trace_id_it_will_get() {
        let ratio = Sampler::TraceIdRatioBased(0.5);
        let (mut sampled, mut unsampled) = (0, 0);
        for _ in 0..400 {
            match Decision::with_parent(Context::new(), &ratio) {
                Decision::Sampled { root_trace, .. } => {
                    let id = root_trace.expect("a root has its trace id preset");
                    // The SDK asks the same sampler with that id: same answer.
                    let again = ratio.should_sample(None, id, "", &SpanKind::Server, &[], &[]);
                    assert_eq!(again.decision, SamplingDecision::RecordAndSample);
                    sampled += 1;
                }
                Decision::Unsampled(cx) => {
                    let id = cx.span().span_context().trace_id();
                    let again = ratio.should_sample(None, id, "", &SpanKind::Server, &[], &[]);
                    assert_eq!(again.decision, SamplingDecision::Drop);
                    unsampled += 1;
                }
                Decision::Off => unreachable!("decided without the enabled check"),
            }
        }
        assert!(sampled > 100 && unsampled > 100, "{sampled} / {unsampled}");
    }

    #[test]
    fn preset_ids_hand_out_the_preset_trace_id_once() {
        let ids = PresetIds::default();
        PRESET_TRACE_ID.set(Some(TraceId::from(42)));
        assert_eq!(ids.new_trace_id(), TraceId::from(42));
        assert_ne!(ids.new_trace_id(), TraceId::from(42));
    }
}
