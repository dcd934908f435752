//! Accounting for one request. Recording happens on drop as a backstop, so
//! a request whose client vanished mid-stream is still reported.

use super::UsageSink;
use super::request_meta::{RequestMeta, merge_tags};
use super::tokenizer::{self, Completion, Encoding, PromptKind};
use crate::providers::StreamAccounting;
use crate::providers::stream::Usage;
use bytes::Bytes;
use std::time::{Duration, Instant};
use tollgate_proto::v1::{RequestStatus, UsageRecord};
use tollgate_shared::pricing::{Picodollars, Price, Tokens};
use tollgate_shared::snapshot::VirtualKey;

/// `usage_source` values.
const SOURCE_PROVIDER: &str = "provider";
const SOURCE_TOKENIZER: &str = "tokenizer";

pub struct Accounting {
    sink: UsageSink,
    record: UsageRecord,
    price: Option<Price>,
    /// What the request cost by LiteLLM's per-unit prices (images, audio
    /// seconds or characters, rerank queries), on top of its tokens.
    unit_cost: Option<Picodollars>,
    /// A pass-through's per-query price (`input_cost_per_query` of the
    /// deployment that answered) and what the queries its answer reported
    /// (Cohere rerank's `search_units`) cost; set, not added: a stream
    /// reports its usage more than once.
    query_price: Option<Picodollars>,
    query_cost: Option<Picodollars>,
    recorded: bool,
    /// Monotonic start, for durations (the record's times are wall-clock).
    started: Instant,
    request_tags: Vec<String>,
    key_tags: Vec<String>,
    /// The provider's usage arrived: nothing to count ourselves.
    usage_seen: bool,
    /// Set when the tokens may have to be counted here.
    fallback: Option<Fallback>,
    /// The request's hold on fleet-wide limits, settled with the real
    /// tokens and cost when the record is made.
    permit: Option<crate::limits::Permit>,
    /// Frames relayed while no usage has arrived (cheap `Bytes` handles,
    /// parsed only if the stream ends without usage).
    relayed: Vec<Bytes>,
    /// The Prometheus handles of the deployment that answered (or was
    /// tried last).
    metrics: Option<std::sync::Arc<crate::metrics::DeploymentMetrics>>,
    /// Of the prompt tokens, those the provider wrote to its prompt cache
    /// (Anthropic's `cache_creation_input_tokens`): charged at the
    /// deployment's cache-write price.
    cache_creation: u64,
    /// A fixed price per request (a pass-through endpoint's
    /// `cost_per_request`), charged whatever the tokens.
    flat_cost: Option<Picodollars>,
}

/// What counting needs: the tokenizer and the client's request as received.
struct Fallback {
    encoding: Encoding,
    kind: PromptKind,
    request: Bytes,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Accounting {
    pub fn start(sink: UsageSink, request_id: String, call_type: &str, key_hash: String) -> Self {
        // The SERVER span of the request being served, when traced.
        let trace = tollgate_telemetry::current_trace().unwrap_or_default();
        Self {
            metrics: None,
            sink,
            record: UsageRecord {
                request_id,
                call_type: call_type.to_string(),
                key_hash,
                start_time_ms: now_ms(),
                trace_id: trace.trace_id,
                span_id: trace.span_id,
                ..UsageRecord::default()
            },
            price: None,
            unit_cost: None,
            query_price: None,
            query_cost: None,
            recorded: false,
            started: Instant::now(),
            request_tags: Vec::new(),
            key_tags: Vec::new(),
            usage_seen: false,
            fallback: None,
            relayed: Vec::new(),
            permit: None,
            cache_creation: 0,
            flat_cost: None,
        }
    }

    /// Counts the request in the metrics of `deployment`'s group when it
    /// is recorded.
    pub fn set_metrics(&mut self, metrics: &std::sync::Arc<crate::metrics::DeploymentMetrics>) {
        self.metrics = Some(std::sync::Arc::clone(metrics));
    }

    pub fn attach_permit(&mut self, permit: crate::limits::Permit) {
        self.permit = Some(permit);
    }

    /// The virtual key's alias, team, user and tags (`None`: master key).
    pub fn set_key(&mut self, key: Option<&VirtualKey>) {
        let Some(key) = key else { return };
        self.record.key_alias = key.alias.clone().unwrap_or_default();
        self.record.team_id = key.team_id.clone().unwrap_or_default();
        self.record.user_id = key.user_id.clone().unwrap_or_default();
        self.key_tags = key.tags.clone();
    }

    /// End user, tags and metadata the request carries.
    pub fn set_request_meta(&mut self, meta: RequestMeta) {
        if let Some(user) = meta.end_user {
            self.record.end_user = user;
        }
        self.request_tags = meta.tags;
        self.record.metadata_json = meta.metadata_json;
    }

    /// Retries and fallbacks the router used.
    pub fn set_attempts(&mut self, retries: u32, fallbacks: u32) {
        self.record.retries = retries;
        self.record.fallbacks = fallbacks;
    }

    /// Time since accounting started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time spent in the gateway itself (total minus the upstream's).
    pub fn set_overhead(&mut self, overhead: Duration) {
        self.record.overhead_us = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
    }

    /// If the provider reports no usage, count the tokens of `request` (the
    /// client's body) and of the output with `upstream_model`'s tokenizer.
    pub fn count_if_no_usage(&mut self, upstream_model: &str, kind: PromptKind, request: Bytes) {
        self.fallback = Some(Fallback {
            encoding: Encoding::for_model(upstream_model),
            kind,
            request,
        });
    }

    pub fn set_price(&mut self, price: Option<Price>) {
        self.price = price;
    }

    /// A cost by per-unit prices, added to the tokens' (known even when
    /// the deployment has no token price).
    pub fn add_unit_cost(&mut self, cost: Picodollars) {
        self.unit_cost = Some(self.unit_cost.unwrap_or(0).saturating_add(cost));
    }

    /// The per-query price answers reporting queries are charged at.
    pub fn set_query_price(&mut self, price: Option<Picodollars>) {
        self.query_price = price;
    }

    /// The answer reported `queries` billed queries (search units).
    pub fn set_queries(&mut self, queries: u64) {
        self.query_cost = self.query_price.map(|p| p.saturating_mul(queries));
    }

    /// The cost of what has been counted so far.
    pub fn cost(&self) -> Option<Picodollars> {
        if self.flat_cost.is_some() {
            return self.flat_cost;
        }
        let tokens = Tokens {
            prompt: self.record.prompt_tokens,
            cached: self.record.cached_tokens,
            completion: self.record.completion_tokens,
        };
        let token_cost = self
            .price
            .map(|p| p.cost_with_cache_writes(tokens, self.cache_creation));
        let units = match (self.unit_cost, self.query_cost) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        match (token_cost, units) {
            (None, None) => None,
            (tokens, units) => Some(tokens.unwrap_or(0).saturating_add(units.unwrap_or(0))),
        }
    }

    /// Charges `cost` for the request, whatever its tokens.
    pub fn set_flat_cost(&mut self, cost: Picodollars) {
        self.flat_cost = Some(cost);
    }

    /// Of the prompt tokens reported, how many were written to the
    /// provider's prompt cache (they are part of `prompt_tokens`).
    pub fn set_cache_creation(&mut self, tokens: u64) {
        self.cache_creation = tokens;
    }

    pub fn request_id(&self) -> &str {
        &self.record.request_id
    }

    pub fn set_route(
        &mut self,
        model_group: &str,
        deployment_id: &str,
        provider: &str,
        api_base: &str,
    ) {
        self.record.model_group = model_group.to_string();
        self.record.deployment_id = deployment_id.to_string();
        self.record.provider = provider.to_string();
        self.record.api_base = api_base.to_string();
    }

    pub fn set_stream(&mut self, stream: bool) {
        self.record.stream = stream;
    }

    pub fn set_end_user(&mut self, end_user: &str) {
        self.record.end_user = end_user.to_string();
    }

    /// A complete (non-streamed) response whose usage the provider gave.
    pub fn succeed(mut self, usage: Usage) {
        self.usage(usage);
        self.completed();
        self.flush();
    }

    /// A complete response `body` (OpenAI's shape) with the usage parsed
    /// from it; when the body has no `usage` at all, the tokens are counted.
    pub fn succeed_with_body(mut self, usage: Usage, body: &Bytes) -> Settled {
        self.completed();
        let reported = usage != Usage::default() || self.fallback.is_none() || has_usage(body);
        let mut counted = None;
        if reported {
            self.usage(usage);
        } else if let Ok(object) = serde_json::from_slice::<serde_json::Value>(body) {
            let mut completion = Completion::default();
            completion.add_object(&object);
            counted = self.count(&completion);
        }
        let cost = self.cost();
        self.flush();
        Settled { cost, counted }
    }

    pub fn fail_with(mut self, http_status: u16, error_type: &str) {
        self.record.http_status = u32::from(http_status);
        self.failed(error_type);
        self.flush();
    }

    fn flush(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        if !self.usage_seen && self.fallback.is_some() && self.record.usage_source.is_empty() {
            // A stream that ended, broke or lost its client before any
            // usage arrived: charge what was relayed.
            let mut completion = Completion::default();
            for frame in &self.relayed {
                completion.add_frame(frame);
            }
            self.count(&completion);
        }
        if self.record.status == RequestStatus::Unspecified as i32 {
            // Dropped before completion: the client went away.
            self.record.status = RequestStatus::Failure.into();
            self.record.error_type = "client_disconnected".into();
            self.record.http_status = 499;
        }
        self.record.end_time_ms = now_ms();
        if self.record.first_token_time_ms == 0 && !self.record.stream {
            // A complete response's first token arrives with the rest.
            if self.record.status == RequestStatus::Success as i32 {
                self.record.first_token_time_ms = self.record.end_time_ms;
            }
        }
        self.record.cost_known = self.price.is_some()
            || self.flat_cost.is_some()
            || self.unit_cost.is_some()
            || self.query_cost.is_some();
        self.record.cost_picos = self.cost().unwrap_or(0);
        self.record.tags = merge_tags(&self.request_tags, &self.key_tags);
        if let Some(permit) = self.permit.take() {
            permit.settle(
                self.record.prompt_tokens + self.record.completion_tokens,
                self.record.cost_picos,
            );
        }
        if let Some(metrics) = &self.metrics {
            metrics.request(&self.record, self.started.elapsed());
        }
        self.sink.record(std::mem::take(&mut self.record));
    }

    /// Counts prompt and `completion` tokens ourselves, when there is
    /// anything to count: a request that failed before any output is not
    /// charged for its prompt. Returns what it counted.
    fn count(&mut self, completion: &Completion) -> Option<Usage> {
        let fallback = self.fallback.as_ref()?;
        let completion_tokens = completion.tokens(fallback.encoding);
        let started = completion_tokens > 0 || !self.relayed.is_empty();
        let succeeded = self.record.status == RequestStatus::Success as i32;
        if !started && !succeeded {
            return None;
        }
        let usage = Usage {
            prompt_tokens: tokenizer::prompt_tokens(
                fallback.encoding,
                fallback.kind,
                &fallback.request,
            ),
            completion_tokens,
            cached_tokens: 0,
        };
        self.record.prompt_tokens = usage.prompt_tokens;
        self.record.completion_tokens = usage.completion_tokens;
        self.record.cached_tokens = 0;
        self.cache_creation = 0;
        self.record.usage_source = SOURCE_TOKENIZER.into();
        Some(usage)
    }
}

/// What a complete response was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// `None`: no price known.
    pub cost: Option<Picodollars>,
    /// The tokenizer's count, when the provider's body had no usage: the
    /// client is shown it, as LiteLLM does.
    pub counted: Option<Usage>,
}

/// Whether an OpenAI body carries a `usage` object (cheap check first).
fn has_usage(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct WithUsage {
        usage: Option<serde::de::IgnoredAny>,
    }
    body.windows(7).any(|w| w == b"\"usage\"")
        && serde_json::from_slice::<WithUsage>(body).is_ok_and(|b| b.usage.is_some())
}

impl StreamAccounting for Accounting {
    fn first_chunk(&mut self) {
        self.record.first_token_time_ms = now_ms();
    }

    fn relayed(&mut self, frame: &Bytes) {
        if !self.usage_seen && self.fallback.is_some() {
            self.relayed.push(frame.clone());
        }
    }

    fn usage(&mut self, usage: Usage) {
        self.usage_seen = true;
        self.relayed = Vec::new();
        self.record.prompt_tokens = usage.prompt_tokens;
        self.record.completion_tokens = usage.completion_tokens;
        self.record.cached_tokens = usage.cached_tokens;
        self.record.usage_source = SOURCE_PROVIDER.into();
    }

    fn completed(&mut self) {
        self.record.status = RequestStatus::Success.into();
        if self.record.http_status == 0 {
            self.record.http_status = 200;
        }
    }

    fn counted_usage(&mut self) -> Option<Usage> {
        if self.usage_seen || self.fallback.is_none() {
            return None;
        }
        let mut completion = Completion::default();
        for frame in &self.relayed {
            completion.add_frame(frame);
        }
        self.count(&completion)
    }

    fn failed(&mut self, error_type: &str) {
        self.record.status = RequestStatus::Failure.into();
        self.record.error_type = error_type.to_string();
        if self.record.http_status == 0 {
            self.record.http_status = 500;
        }
    }
}

impl Drop for Accounting {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    const CHAT: &[u8] = br#"{"model":"m","messages":[{"role":"user","content":"hello world"}]}"#;

    fn accounting() -> (Accounting, mpsc::Receiver<UsageRecord>) {
        let (sink, rx) = UsageSink::channel(8);
        let mut a = Accounting::start(sink, "req-1".into(), "acompletion", "hash".into());
        a.set_price(Some(Price {
            input_per_token: 10,
            output_per_token: 100,
            cached_input_per_token: 1,
            cache_creation_input_per_token: 12,
        }));
        a.count_if_no_usage("gpt-3.5-turbo", PromptKind::Chat, Bytes::from_static(CHAT));
        (a, rx)
    }

    fn frame(text: &str) -> Bytes {
        Bytes::from(format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
        ))
    }

    fn prompt() -> u64 {
        let e = Encoding::Cl100k;
        3 + 3 + e.count("user") + e.count("hello world")
    }

    #[test]
    fn provider_usage_wins_and_nothing_is_counted() {
        let (mut a, mut rx) = accounting();
        a.relayed(&frame("hi there"));
        a.usage(Usage {
            prompt_tokens: 7,
            completion_tokens: 2,
            cached_tokens: 4,
        });
        a.completed();
        drop(a);
        let r = rx.try_recv().expect("record");
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens, r.cached_tokens),
            (7, 2, 4)
        );
        assert_eq!(r.usage_source, "provider");
        // 4 of the 7 prompt tokens were read from the provider's cache.
        assert_eq!(r.cost_picos, 3 * 10 + 4 + 2 * 100);
    }

    #[test]
    fn cache_writes_are_charged_at_the_cache_write_price() {
        let (mut a, mut rx) = accounting();
        a.usage(Usage {
            prompt_tokens: 7,
            completion_tokens: 2,
            cached_tokens: 1,
        });
        a.set_cache_creation(4);
        a.completed();
        drop(a);
        let r = rx.try_recv().expect("record");
        // 1 read (1 each), 4 written (12 each), 2 plain (10 each), 2 out.
        assert_eq!(r.cost_picos, 1 + 4 * 12 + 2 * 10 + 2 * 100);
    }

    #[test]
    fn a_stream_without_usage_is_counted_with_the_tokenizer() {
        let (mut a, mut rx) = accounting();
        a.first_chunk();
        a.relayed(&frame("hello"));
        a.relayed(&frame(" world"));
        a.completed();
        drop(a);
        let r = rx.try_recv().expect("record");
        let completion = Encoding::Cl100k.count("hello world");
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens),
            (prompt(), completion)
        );
        assert_eq!(r.usage_source, "tokenizer");
        assert_eq!(r.cost_picos, prompt() * 10 + completion * 100);
    }

    #[test]
    fn a_client_gone_mid_stream_is_charged_for_what_was_relayed() {
        let (mut a, mut rx) = accounting();
        a.set_stream(true);
        a.first_chunk();
        a.relayed(&frame("hello"));
        drop(a);
        let r = rx.try_recv().expect("record");
        assert_eq!(
            (r.http_status, r.error_type.as_str()),
            (499, "client_disconnected")
        );
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens),
            (prompt(), Encoding::Cl100k.count("hello"))
        );
    }

    #[test]
    fn a_failure_before_any_output_charges_nothing() {
        let (a, mut rx) = accounting();
        a.fail_with(502, "api_connection_error");
        let r = rx.try_recv().expect("record");
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens, r.cost_picos),
            (0, 0, 0)
        );
        assert_eq!(r.usage_source, "");
    }

    #[test]
    fn a_complete_body_without_usage_is_counted_and_with_usage_is_not() {
        let body = Bytes::from_static(
            br#"{"choices":[{"message":{"role":"assistant","content":"hi you"}}]}"#,
        );
        let (a, mut rx) = accounting();
        let settled = a.succeed_with_body(Usage::default(), &body);
        let r = rx.try_recv().expect("record");
        let completion = Encoding::Cl100k.count("hi you");
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens),
            (prompt(), completion)
        );
        assert_eq!(settled.cost, Some(r.cost_picos));
        assert_eq!(
            settled.counted,
            Some(Usage {
                prompt_tokens: prompt(),
                completion_tokens: completion,
                cached_tokens: 0,
            })
        );
        assert_eq!(r.first_token_time_ms, r.end_time_ms);

        // A zero usage the provider did send is the provider's.
        let body = Bytes::from_static(
            br#"{"choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0}}"#,
        );
        let (a, mut rx) = accounting();
        assert_eq!(
            a.succeed_with_body(Usage::default(), &body),
            Settled {
                cost: Some(0),
                counted: None
            }
        );
        assert_eq!(rx.try_recv().expect("record").usage_source, "provider");
    }

    #[test]
    fn key_and_request_details_reach_the_record() {
        let (sink, mut rx) = UsageSink::channel(8);
        let mut a = Accounting::start(sink, "req-2".into(), "acompletion", "hash".into());
        let key: VirtualKey = serde_json::from_value(serde_json::json!({
            "token": "0000000000000000000000000000000000000000000000000000000000000000", "key_name": "sk-...00", "alias": "a", "models": [], "expires_at_ms": null,
            "blocked": false, "team_id": "t", "user_id": "u", "rpm_limit": null, "tpm_limit": null,
            "max_parallel_requests": null, "model_rpm_limit": {}, "model_tpm_limit": {},
            "aliases": {}, "tags": ["k", "r"]
        }))
        .expect("key");
        a.set_key(Some(&key));
        a.set_request_meta(RequestMeta {
            end_user: Some("eu".into()),
            tags: vec!["r".into()],
            metadata_json: "{\"x\":1}".into(),
        });
        a.set_attempts(2, 1);
        a.set_overhead(Duration::from_micros(1500));
        a.succeed(Usage::default());
        let r = rx.try_recv().expect("record");
        assert_eq!(
            (
                r.key_alias.as_str(),
                r.team_id.as_str(),
                r.user_id.as_str(),
                r.end_user.as_str()
            ),
            ("a", "t", "u", "eu")
        );
        assert_eq!(r.tags, ["r", "k"]);
        assert_eq!(r.metadata_json, "{\"x\":1}");
        assert_eq!((r.retries, r.fallbacks, r.overhead_us), (2, 1, 1500));
    }
}
