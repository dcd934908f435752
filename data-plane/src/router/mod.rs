//! The router: which deployment serves a request, what happens when it
//! fails. Retries inside the model group (`num_retries`), cooldowns of
//! failing deployments, then fallback groups chosen by the kind of failure
//! (`context_window_fallbacks`, `content_policy_fallbacks`, `fallbacks`,
//! `default_fallbacks`), as LiteLLM's router does.
//!
//! A stream counts as started only once its first chunk arrived: a stream
//! that fails before that is retried like any call; after it, the failure
//! reaches the client as an error event (see `providers::stream`).

mod attempt;
mod calls;
mod cooldown;
mod error_class;
mod operation;
mod policy;
mod span;
mod stats;
mod strategy;
#[cfg(test)]
mod tests;
mod timeouts;

pub use calls::{Chat, Completion, Embedding};
pub(crate) use calls::{body_for, first_chunk};
pub use cooldown::Cooldowns;
pub use operation::{Meter, Metered, Operation};
pub use policy::{FailureClass, MAX_RETRY_WAIT, RoutingPolicy};
pub use stats::{DeploymentUsage, Stats};
pub use strategy::Strategy;
pub use timeouts::{RequestedTimeouts, Timeouts, positive_seconds};

use crate::providers::{ChatOutput, HttpClient, ProviderError};
use crate::runtime::{Deployment, ModelGroup, Runtime};
use serde_json::{Map, Value};
use std::sync::Arc;
use tracing::{debug, warn};

/// Per-request routing overrides LiteLLM accepts in the body.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub num_retries: Option<u32>,
    pub fallbacks: Option<Vec<String>>,
    pub disable_fallbacks: bool,
    pub mock_testing_fallbacks: bool,
    /// `timeout` / `stream_timeout` set for this call, ahead of the
    /// deployment's.
    pub timeouts: RequestedTimeouts,
}

impl Overrides {
    pub fn from_body(body: &Map<String, Value>) -> Self {
        Self {
            num_retries: body
                .get("num_retries")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
            fallbacks: body.get("fallbacks").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| {
                        // LiteLLM accepts names or {"model": name} objects.
                        v.as_str()
                            .map(str::to_string)
                            .or_else(|| v.get("model").and_then(Value::as_str).map(str::to_string))
                    })
                    .collect()
            }),
            disable_fallbacks: body
                .get("disable_fallbacks")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            mock_testing_fallbacks: body
                .get("mock_testing_fallbacks")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            timeouts: RequestedTimeouts::from_body(body),
        }
    }
}

/// A chat request to route (what `POST /v1/chat/completions` hands over).
pub struct Request<'a> {
    pub runtime: &'a Runtime,
    pub client: &'a HttpClient,
    pub cooldowns: &'a Arc<Cooldowns>,
    pub stats: &'a Arc<Stats>,
    /// What a wildcard group's `*` matched in the requested model.
    pub wildcard: Option<&'a str>,
    /// The client's body (model = the group asked for).
    pub body: Map<String, Value>,
    pub stream: bool,
    pub include_usage: bool,
    pub request_id: &'a str,
    pub overrides: Overrides,
    pub limiter: Option<&'a Arc<crate::limits::Limiter>>,
}

/// What every routed call shares, whatever the endpoint.
pub struct Context<'a> {
    pub runtime: &'a Runtime,
    pub cooldowns: &'a Arc<Cooldowns>,
    pub stats: &'a Arc<Stats>,
    pub overrides: Overrides,
    /// Holds deployments' `rpm`/`tpm` for the whole fleet; `None` counts
    /// them on this data plane only (tests, benchmarks).
    pub limiter: Option<&'a Arc<crate::limits::Limiter>>,
}

/// A served request and how it got served.
pub struct Routed<O = ChatOutput> {
    pub output: O,
    pub deployment: Arc<Deployment>,
    pub group: String,
    pub retries: u32,
    pub fallbacks: u32,
}

pub struct Failed {
    pub error: ProviderError,
    /// The last deployment tried, if any.
    pub deployment: Option<Arc<Deployment>>,
    pub retries: u32,
    pub fallbacks: u32,
}

/// Routes a chat request.
pub async fn route(request: Request<'_>, first: &ModelGroup) -> Result<Routed, Failed> {
    let ctx = Context {
        runtime: request.runtime,
        cooldowns: request.cooldowns,
        stats: request.stats,
        overrides: request.overrides,
        limiter: request.limiter,
    };
    let chat = Chat {
        client: request.client,
        wildcard: request.wildcard,
        body: request.body,
        stream: request.stream,
        include_usage: request.include_usage,
        request_id: request.request_id,
    };
    route_call(&ctx, &chat, first).await
}

/// The deployment the router would send the next request for `group` to
/// (no failure yet): its whole per-request decision — cooldowns, limits,
/// health, `order`, the strategy. What `benches/router.rs` measures.
pub fn pick<'a>(ctx: &Context<'_>, group: &'a ModelGroup) -> Option<&'a Arc<Deployment>> {
    attempt::choose(ctx, group, |_| true)
}

/// Routes any call: attempts in the group asked for, then its fallback
/// groups by the kind of the last failure.
pub async fn route_call<O: Operation>(
    ctx: &Context<'_>,
    op: &O,
    first: &ModelGroup,
) -> Result<Routed<O::Output>, Failed> {
    // Boxed: the attempts' state (the provider call, hyper's client future,
    // the retry loop) is the largest part of a request's future. Inline, it
    // made every handler future several KiB, and axum and tower move those
    // by value (callgrind: memcpy was 13 % of a request's instructions).
    Box::pin(route_attempts(ctx, op, first)).await
}

async fn route_attempts<O: Operation>(
    ctx: &Context<'_>,
    op: &O,
    first: &ModelGroup,
) -> Result<Routed<O::Output>, Failed> {
    let policy = &ctx.runtime.routing;
    let mut fallbacks = 0;
    let mut failure =
        match attempt::attempt_group(ctx, op, first, ctx.overrides.mock_testing_fallbacks, None)
            .await
        {
            Ok(routed) => return Ok(routed),
            Err(f) => f,
        };
    let mut retries = failure.retries;
    if ctx.overrides.disable_fallbacks {
        return Err(failure);
    }
    let class = FailureClass::of(failure.error.status.as_u16(), failure.error.code.as_deref());
    let chain: Vec<String> = match class {
        FailureClass::ContextWindow => policy
            .context_window_fallbacks
            .get(&first.name)
            .cloned()
            .unwrap_or_default(),
        FailureClass::ContentPolicy => policy
            .content_policy_fallbacks
            .get(&first.name)
            .cloned()
            .unwrap_or_default(),
        // A malformed request fails the same way everywhere.
        FailureClass::Permanent => Vec::new(),
        FailureClass::Transient | FailureClass::Deployment => ctx
            .overrides
            .fallbacks
            .clone()
            .or_else(|| policy.fallbacks.get(&first.name).cloned())
            .unwrap_or_else(|| policy.default_fallbacks.clone()),
    };
    for name in chain.iter().filter(|n| **n != first.name) {
        if fallbacks >= policy.max_fallbacks {
            break;
        }
        let Some(group) = ctx.runtime.group(name) else {
            warn!(fallback = %name, "fallback names no model group in the config; skipped");
            continue;
        };
        fallbacks += 1;
        debug!(from = %first.name, to = %name, "falling back");
        let reason = match class {
            FailureClass::ContextWindow => "context_window",
            FailureClass::ContentPolicy => "content_policy",
            _ => "error",
        };
        match attempt::attempt_group(ctx, op, group, false, Some((&first.name, reason))).await {
            Ok(mut routed) => {
                routed.retries += retries;
                routed.fallbacks = fallbacks;
                return Ok(routed);
            }
            Err(f) => {
                retries += f.retries;
                failure = f;
            }
        }
    }
    Err(Failed {
        retries,
        fallbacks,
        ..failure
    })
}
