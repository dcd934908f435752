//! The CLIENT span of one provider attempt, named
//! `{gen_ai.operation.name} {gen_ai.request.model}` with the GenAI
//! semantic-convention attributes (semconv v1.41.1) and Tollgate's own
//! (attempt, retry and fallback, deployment, cost). Built only when traces
//! are exported: otherwise every function here is a no-op on a disabled
//! span. Never a key or a credential; message content only when the
//! operator opted in (`OtelSettings::capture_content`).

use crate::providers::stream::Usage;
use crate::runtime::Deployment;
use serde::Deserialize;
use tollgate_shared::pricing::Tokens;
use tollgate_telemetry::semconv;
use tracing::field::Empty;

/// Where an attempt stands in its request.
pub(super) struct AttemptInfo<'a> {
    /// 1 for the first call to this group, then one more per retry.
    pub number: u32,
    /// Why the previous attempt failed (`error.type` of it), when this
    /// one retries.
    pub retry_of: Option<&'a str>,
    /// Set when this group is a fallback: the group it falls back from and
    /// why (`context_window`, `content_policy`, `error`).
    pub fallback: Option<(&'a str, &'static str)>,
}

pub(super) fn attempt(
    operation: &'static str,
    d: &Deployment,
    info: &AttemptInfo<'_>,
) -> tracing::Span {
    let span = tracing::debug_span!(
        target: tollgate_telemetry::TARGET,
        "provider_attempt",
        otel.name = %format_args!("{operation} {}", d.upstream_model),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = operation,
        gen_ai.provider.name = semconv::provider_name(d.provider),
        gen_ai.request.model = %d.upstream_model,
        gen_ai.request.stream = Empty,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.usage.cache_read.input_tokens = Empty,
        gen_ai.response.time_to_first_chunk = Empty,
        server.address = Empty,
        server.port = Empty,
        error.type = Empty,
        tollgate.model_group = %d.model_name,
        tollgate.deployment_id = %d.id,
        // i64 throughout: tracing-opentelemetry exports unsigned fields as strings.
        tollgate.attempt = i64::from(info.number),
        tollgate.retry = info.retry_of.is_some(),
        tollgate.retry_reason = Empty,
        tollgate.fallback = info.fallback.is_some(),
        tollgate.fallback_from = Empty,
        tollgate.fallback_reason = Empty,
        tollgate.cost_usd = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
    );
    if unrecorded(&span) {
        return span;
    }
    if let Some(reason) = info.retry_of {
        span.record("tollgate.retry_reason", reason);
    }
    if let Some((from, reason)) = info.fallback {
        span.record("tollgate.fallback_from", from);
        span.record("tollgate.fallback_reason", reason);
    }
    let api_base = d.upstream.api_base();
    if let Ok(uri) = api_base.parse::<http::Uri>()
        && let Some(host) = uri.host()
    {
        span.record("server.address", host);
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") {
                80
            } else {
                443
            });
        span.record("server.port", i64::from(port));
    }
    span
}

/// Nothing reads this span's attributes: it is disabled, or its trace is
/// not exported (tracing off, or the request not sampled). Its helpers then
/// skip the work of filling them (callgrind: parsing every streamed chunk
/// for the span was a tenth of a streamed request with tracing off).
pub(super) fn unrecorded(span: &tracing::Span) -> bool {
    span.is_disabled() || !tollgate_telemetry::recording()
}

/// The stream's first chunk arrived after `ttfc`.
pub(super) fn first_chunk(span: &tracing::Span, ttfc: std::time::Duration) {
    span.record("gen_ai.request.stream", true);
    span.record(
        semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        ttfc.as_secs_f64(),
    );
}

pub(super) fn failed(span: &tracing::Span, error_type: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error_type);
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    id: Option<&'a str>,
    #[serde(borrow, default)]
    model: Option<&'a str>,
    #[serde(borrow, default)]
    choices: Vec<Choice<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    finish_reason: Option<&'a str>,
}

fn record_head(span: &tracing::Span, head: &Head<'_>) {
    if let Some(id) = head.id {
        span.record(semconv::GEN_AI_RESPONSE_ID, id);
    }
    if let Some(model) = head.model {
        span.record(semconv::GEN_AI_RESPONSE_MODEL, model);
    }
    let reasons: Vec<&str> = head
        .choices
        .iter()
        .filter_map(|c| c.finish_reason)
        .collect();
    if !reasons.is_empty() {
        // A string array is not a `tracing` field type: JSON, as the
        // conventions allow where arrays are unsupported.
        span.record(
            semconv::GEN_AI_RESPONSE_FINISH_REASONS,
            serde_json::to_string(&reasons).unwrap_or_default().as_str(),
        );
    }
}

/// A complete answer (OpenAI's shape): id, model, finish reasons. Read
/// only when the span is exported.
pub(super) fn response_body(span: &tracing::Span, body: &[u8]) {
    if unrecorded(span) {
        return;
    }
    if let Ok(head) = serde_json::from_slice::<Head<'_>>(body) {
        record_head(span, &head);
    }
}

/// One SSE frame (`data: {...}`) of a stream.
pub(super) fn response_chunk(span: &tracing::Span, frame: &[u8]) {
    if unrecorded(span) {
        return;
    }
    let Some(json) = frame
        .strip_prefix(b"data: ")
        .map(<[u8]>::trim_ascii)
        .filter(|j| j.first() == Some(&b'{'))
    else {
        return;
    };
    if let Ok(head) = serde_json::from_slice::<Head<'_>>(json) {
        record_head(span, &head);
    }
}

/// Opted in: a complete answer's messages (OpenAI's `choices[].message`,
/// as the input is OpenAI's `messages`) as `gen_ai.output.messages`.
pub(super) fn output_messages(span: &tracing::Span, body: &[u8]) {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        choices: Vec<AnswerChoice>,
    }
    #[derive(Deserialize)]
    struct AnswerChoice {
        message: Option<serde_json::Value>,
    }
    if unrecorded(span) {
        return;
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        return;
    };
    let messages: Vec<_> = answer
        .choices
        .into_iter()
        .filter_map(|c| c.message)
        .collect();
    if let Ok(json) = serde_json::to_string(&messages) {
        span.record(semconv::GEN_AI_OUTPUT_MESSAGES, json.as_str());
    }
}

/// Opted in: a stream's text, gathered chunk by chunk (per choice: its
/// role and the concatenated `delta.content`), recorded when it ends.
#[derive(Default)]
pub(super) struct StreamedContent {
    choices: std::collections::BTreeMap<u64, (String, String)>,
}

impl StreamedContent {
    pub(super) fn add(&mut self, frame: &[u8]) {
        #[derive(Deserialize)]
        struct Chunk<'a> {
            #[serde(borrow, default)]
            choices: Vec<ChunkChoice<'a>>,
        }
        #[derive(Deserialize)]
        struct ChunkChoice<'a> {
            #[serde(default)]
            index: u64,
            #[serde(borrow, default)]
            delta: Option<Delta<'a>>,
        }
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow, default)]
            role: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow, default)]
            content: Option<std::borrow::Cow<'a, str>>,
        }
        let Some(json) = frame
            .strip_prefix(b"data: ")
            .map(<[u8]>::trim_ascii)
            .filter(|j| j.first() == Some(&b'{'))
        else {
            return;
        };
        let Ok(chunk) = serde_json::from_slice::<Chunk<'_>>(json) else {
            return;
        };
        for choice in chunk.choices {
            let Some(delta) = choice.delta else { continue };
            let entry = self
                .choices
                .entry(choice.index)
                .or_insert_with(|| ("assistant".into(), String::new()));
            if let Some(role) = delta.role {
                entry.0 = role.into_owned();
            }
            if let Some(content) = delta.content {
                entry.1.push_str(&content);
            }
        }
    }

    pub(super) fn record(self, span: &tracing::Span) {
        let messages: Vec<_> = self
            .choices
            .into_values()
            .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
            .collect();
        if let Ok(json) = serde_json::to_string(&messages) {
            span.record(semconv::GEN_AI_OUTPUT_MESSAGES, json.as_str());
        }
    }
}

/// The tokens the provider reported, and what they cost.
pub(super) fn usage(span: &tracing::Span, d: &Deployment, usage: &Usage) {
    if unrecorded(span) {
        return;
    }
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    span.record(semconv::GEN_AI_USAGE_INPUT_TOKENS, int(usage.prompt_tokens));
    span.record(
        semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
        int(usage.completion_tokens),
    );
    span.record(
        semconv::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        int(usage.cached_tokens),
    );
    if let Some(price) = d.price {
        let picos = price.cost(Tokens {
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
            cached: usage.cached_tokens,
        });
        span.record("tollgate.cost_usd", picos as f64 / 1e12);
    }
}
