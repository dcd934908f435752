//! What the router routes: one kind of call (chat, text completion,
//! embeddings) made to whichever deployment it picks, and the metering of
//! its answer for the strategies and limits.

use super::cooldown::{Cooldowns, failure_rate_exceeded};
use super::stats::{InFlight, Stats};
use super::timeouts::Timeouts;
use crate::providers::embeddings::EmbeddingOutput;
use crate::providers::stream::Usage;
use crate::providers::{ChatOutput, ProviderError, StreamEvent};
use crate::runtime::Deployment;
use crate::usage::tokenizer::Encoding as TokenEncoding;
use futures::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One kind of call, ready to be sent to any deployment of a group.
pub trait Operation: Sync {
    type Output: Metered + Send;

    /// One call to `deployment`. A stream is returned only once its first
    /// chunk arrived: a failure before it is a failed attempt, retried like
    /// any other. `timeouts` are the attempt's: the deployment's unless
    /// the request set its own.
    fn call<'s>(
        &'s self,
        deployment: &'s Deployment,
        timeouts: Timeouts,
    ) -> impl Future<Output = Result<Self::Output, ProviderError>> + Send + 's;

    /// The prompt's size in tokens, for the pre-call context-window check
    /// (`enable_pre_call_checks`); counted only when that is on.
    fn prompt_tokens(&self, encoding: TokenEncoding) -> u64;

    /// The request's content for `gen_ai.input.messages` (asked for only
    /// when the operator opted in to content on spans): JSON.
    fn input_content(&self) -> Option<String> {
        None
    }

    /// `gen_ai.operation.name`: `chat`, `text_completion`, `embeddings`.
    fn operation_name(&self) -> &'static str {
        "chat"
    }
}

/// An answer the router can meter: tokens used once known, and a stream
/// held in flight until it ends.
pub trait Metered: Sized {
    fn meter(self, meter: Meter) -> Self;

    /// A stream: its attempt ends with its last chunk.
    fn is_stream(&self) -> bool {
        false
    }
}

/// Records how a served call ended: its tokens count against the
/// deployment's minute (usage-based routing, `tpm`), a stream that breaks
/// counts as a failure (the failure-rate cooldown).
pub struct Meter {
    pub(super) stats: Arc<Stats>,
    pub(super) deployment: Arc<Deployment>,
    /// Held, never read: the call counts as in flight until it drops.
    pub(super) _in_flight: InFlight,
    /// Set when a broken stream may cool the deployment down (cooldowns on,
    /// more than one deployment, no `allowed_fails`): for how long.
    pub(super) break_cooldown: Option<(Arc<Cooldowns>, Duration)>,
    /// The deployment's fleet-wide `rpm`/`tpm` hold, settled with the tokens.
    pub(super) permit: Option<crate::limits::Permit>,
    /// The attempt's CLIENT span, closed when the answer has been read.
    pub(super) span: tracing::Span,
    pub(super) started: Instant,
    /// Time to the first chunk, for streams.
    pub(super) first_chunk: Option<Duration>,
    /// The operator opted in to message content on spans, and this span is
    /// exported: the answer's content goes on it.
    pub(super) capture_content: bool,
}

impl Meter {
    /// The call ended having used `usage` (the pass-through routes, whose
    /// answers only they can read, call it themselves).
    pub fn finish(mut self, usage: &Usage) {
        let tokens = usage.prompt_tokens + usage.completion_tokens;
        if let Some(permit) = self.permit.take() {
            permit.settle(tokens, 0);
        }
        self.stats.usage().record(&self.deployment.id, tokens);
        self.deployment
            .metrics
            .attempt(self.started.elapsed(), self.first_chunk, None);
        super::span::usage(&self.span, &self.deployment, usage);
    }

    fn broke(self) {
        self.deployment
            .metrics
            .attempt(self.started.elapsed(), self.first_chunk, Some(502));
        super::span::failed(&self.span, "stream_error");
        let outcomes = self.stats.usage().record_failure(&self.deployment.id);
        if let Some((cooldowns, wait)) = &self.break_cooldown
            && failure_rate_exceeded(outcomes)
        {
            tracing::warn!(deployment = %self.deployment.id, "streams keep breaking: cooling down");
            cooldowns.cool(&self.deployment.id, *wait);
        }
    }
}

impl Metered for ChatOutput {
    fn meter(self, meter: Meter) -> Self {
        match self {
            ChatOutput::Complete { body, usage } => {
                super::span::response_body(&meter.span, &body);
                if meter.capture_content {
                    super::span::output_messages(&meter.span, &body);
                }
                meter.finish(&usage);
                ChatOutput::Complete { body, usage }
            }
            ChatOutput::Stream(chunks) => {
                // The meter (and its in-flight count) lives as long as the
                // stream: a stream is busy until it ends.
                let metered = async_stream::stream! {
                    let mut content = meter
                        .capture_content
                        .then(super::span::StreamedContent::default);
                    let mut meter = Some(meter);
                    let mut usage = Usage::default();
                    let mut chunks = chunks;
                    while let Some(event) = chunks.next().await {
                        if let (StreamEvent::Data { frame, .. }, Some(m)) = (&event, &meter) {
                            super::span::response_chunk(&m.span, frame);
                            if let Some(content) = content.as_mut() {
                                content.add(frame);
                            }
                        }
                        match &event {
                            StreamEvent::Data { usage: Some(u), .. } => {
                                usage = *u;
                            }
                            StreamEvent::Error { .. } => {
                                if let Some(m) = meter.take() {
                                    m.broke();
                                }
                            }
                            StreamEvent::Data { .. } => {}
                        }
                        yield event;
                    }
                    if let Some(m) = meter.take() {
                        if let Some(content) = content.take() {
                            content.record(&m.span);
                        }
                        m.finish(&usage);
                    }
                };
                ChatOutput::Stream(Box::pin(metered))
            }
        }
    }

    fn is_stream(&self) -> bool {
        matches!(self, ChatOutput::Stream(_))
    }
}

impl Metered for EmbeddingOutput {
    fn meter(self, meter: Meter) -> Self {
        super::span::response_body(&meter.span, &self.body);
        meter.finish(&self.usage);
        self
    }
}
