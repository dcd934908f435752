//! The router: which deployment serves a request, what happens when it
//! fails. Retries inside the model group (`num_retries`), cooldowns of
//! failing deployments, then fallback groups chosen by the kind of failure
//! (`context_window_fallbacks`, `content_policy_fallbacks`, `fallbacks`,
//! `default_fallbacks`), as LiteLLM's router does.
//!
//! A stream counts as started only once its first chunk arrived: a stream
//! that fails before that is retried like any call; after it, the failure
//! reaches the client as an error event (see `providers::stream`).

mod cooldown;
mod policy;
mod stats;
mod strategy;

pub use cooldown::Cooldowns;
pub use policy::{FailureClass, MAX_RETRY_WAIT, RoutingPolicy};
pub use stats::Stats;
pub use strategy::Strategy;

use crate::providers::{ChatCall, ChatOutput, HttpClient, ProviderError, StreamEvent};
use crate::runtime::{Deployment, GATEWAY_ONLY_PARAMS, ModelGroup, Runtime};
use futures::StreamExt;
use http::StatusCode;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};

/// Per-request routing overrides LiteLLM accepts in the body.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub num_retries: Option<u32>,
    pub fallbacks: Option<Vec<String>>,
    pub disable_fallbacks: bool,
    pub mock_testing_fallbacks: bool,
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
        }
    }
}

pub struct Request<'a> {
    pub runtime: &'a Runtime,
    pub client: &'a HttpClient,
    pub cooldowns: &'a Cooldowns,
    pub stats: &'a Stats,
    /// What a wildcard group's `*` matched in the requested model.
    pub wildcard: Option<&'a str>,
    /// The client's body (model = the group asked for).
    pub body: Map<String, Value>,
    pub stream: bool,
    pub include_usage: bool,
    pub request_id: &'a str,
    pub overrides: Overrides,
}

/// A served request and how it got served.
pub struct Routed {
    pub output: ChatOutput,
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

pub async fn route(request: Request<'_>, first: &ModelGroup) -> Result<Routed, Failed> {
    let policy = &request.runtime.routing;
    let mut retries = 0;
    let mut fallbacks = 0;
    let first_result =
        attempt_group(&request, first, request.overrides.mock_testing_fallbacks).await;
    let mut failure = match first_result {
        Ok(mut routed) => {
            routed.retries += retries;
            return Ok(routed);
        }
        Err(f) => f,
    };
    retries += failure.retries;
    if request.overrides.disable_fallbacks {
        return Err(Failed { retries, ..failure });
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
        FailureClass::Transient | FailureClass::Deployment => request
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
        let Some(group) = request.runtime.group(name) else {
            warn!(fallback = %name, "fallback names no model group in the config; skipped");
            continue;
        };
        fallbacks += 1;
        debug!(from = %first.name, to = %name, "falling back");
        match attempt_group(&request, group, false).await {
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

/// The body a deployment receives: its model name, no gateway-only keys,
/// its default parameters where the request set none.
fn body_for(
    body: &Map<String, Value>,
    deployment: &Deployment,
    wildcard: Option<&str>,
) -> Map<String, Value> {
    let mut body = body.clone();
    let model = match wildcard {
        Some(matched) if deployment.upstream_model.contains('*') => {
            deployment.upstream_model.replacen('*', matched, 1)
        }
        _ => deployment.upstream_model.clone(),
    };
    body.insert("model".into(), Value::String(model));
    for key in GATEWAY_ONLY_PARAMS {
        body.remove(key);
    }
    for (key, value) in &deployment.default_params {
        body.entry(key.clone()).or_insert_with(|| value.clone());
    }
    body
}

fn no_deployments(group: &ModelGroup, cooldown: Duration) -> ProviderError {
    let ids: Vec<&str> = group.deployments().iter().map(|d| d.id.as_str()).collect();
    ProviderError {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: format!(
            "No deployments available for selected model, Try again in {} seconds. Passed model={}. pre-call-checks=false, cooldown_list={ids:?}",
            cooldown.as_secs().max(1),
            group.name
        ),
        kind: "rate_limit_error".into(),
        param: None,
        code: Some("429".into()),
        retry_after: http::HeaderValue::from_str(&cooldown.as_secs().max(1).to_string())
            .ok()
            .map(Box::new),
    }
}

fn retry_wait(error: &ProviderError, policy: &RoutingPolicy, attempt: u32) -> Duration {
    let header = error
        .retry_after
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    // Exponential from 0.5 s when the provider gave no hint.
    let backoff = Duration::from_millis(500).saturating_mul(2u32.saturating_pow(attempt.min(4)));
    header
        .unwrap_or(backoff)
        .max(policy.retry_after)
        .min(MAX_RETRY_WAIT)
}

async fn attempt_group(
    request: &Request<'_>,
    group: &ModelGroup,
    fail_first: bool,
) -> Result<Routed, Failed> {
    let policy = &request.runtime.routing;
    let attempts = 1 + request.overrides.num_retries.unwrap_or(policy.num_retries);
    // LiteLLM does not cool down the only deployment of a group: there would
    // be nothing left to serve it.
    let can_cool = policy.cooldowns_enabled && group.len() > 1;
    let mut tried: Vec<Arc<Deployment>> = Vec::new();
    let mut last: Option<(ProviderError, Arc<Deployment>)> = None;
    for attempt in 0..attempts {
        let fresh = choose(request, group, |d| {
            !request.cooldowns.is_cooling(&d.id) && !tried.iter().any(|t| t.id == d.id)
        });
        let deployment = match fresh
            .or_else(|| choose(request, group, |d| !request.cooldowns.is_cooling(&d.id)))
        {
            Some(d) => Arc::clone(d),
            None => {
                return Err(Failed {
                    error: last.as_ref().map_or_else(
                        || no_deployments(group, policy.cooldown),
                        |(e, _)| e.clone(),
                    ),
                    deployment: last.map(|(_, d)| d),
                    retries: attempt.saturating_sub(1),
                    fallbacks: 0,
                });
            }
        };
        if let Some((error, previous)) = &last {
            // Same deployment again: wait as it asked. Another one: go now.
            if previous.id == deployment.id {
                tokio::time::sleep(retry_wait(error, policy, attempt - 1)).await;
            }
        }
        let outcome = if fail_first && attempt == 0 {
            Err(ProviderError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "mock_testing_fallbacks: this deployment failed on purpose to exercise fallbacks".into(),
                kind: "api_error".into(),
                param: None,
                code: Some("500".into()),
                retry_after: None,
            })
        } else {
            call(request, &deployment).await
        };
        match outcome {
            Ok(output) => {
                return Ok(Routed {
                    output,
                    deployment,
                    group: group.name.clone(),
                    retries: attempt,
                    fallbacks: 0,
                });
            }
            Err(error) => {
                let status = error.status.as_u16();
                if can_cool && FailureClass::cools_down(status) {
                    let wait = retry_wait(&error, policy, 0).max(policy.cooldown);
                    request.cooldowns.cool(&deployment.id, wait);
                }
                let class = FailureClass::of(status, error.code.as_deref());
                tried.push(Arc::clone(&deployment));
                // Wrong credentials or model at this deployment: only another
                // deployment can help (LiteLLM: no retry without a healthy
                // alternative).
                let alternative = group.deployments().iter().any(|d| {
                    !request.cooldowns.is_cooling(&d.id) && !tried.iter().any(|t| t.id == d.id)
                });
                let give_up = !class.retryable()
                    || (class == FailureClass::Deployment && !alternative)
                    || fail_first;
                last = Some((error, deployment));
                if give_up {
                    break;
                }
            }
        }
    }
    let retries = u32::try_from(tried.len())
        .unwrap_or(u32::MAX)
        .saturating_sub(1);
    let (error, deployment) = match last {
        Some((e, d)) => (e, Some(d)),
        None => (no_deployments(group, policy.cooldown), None),
    };
    Err(Failed {
        error,
        deployment,
        retries,
        fallbacks: 0,
    })
}

/// The deployment the strategy picks among those `allow` accepts, lowest
/// `order` first.
fn choose<'a>(
    request: &Request<'_>,
    group: &'a ModelGroup,
    allow: impl Fn(&Deployment) -> bool,
) -> Option<&'a Arc<Deployment>> {
    let allowed: Vec<&Arc<Deployment>> = group.deployments().iter().filter(|d| allow(d)).collect();
    let first_order = allowed.iter().map(|d| d.order).min()?;
    let candidates: Vec<&Arc<Deployment>> = allowed
        .into_iter()
        .filter(|d| d.order == first_order)
        .collect();
    request
        .runtime
        .routing
        .strategy
        .choose(&candidates, request.stats, |subset| {
            group.pick_among(subset)
        })
}

/// One call to one deployment, measured for the routing strategies.
async fn call(request: &Request<'_>, deployment: &Deployment) -> Result<ChatOutput, ProviderError> {
    let in_flight = request.stats.start(&deployment.id);
    let started = std::time::Instant::now();
    let ttl = request.runtime.routing.strategy.latency_ttl();
    match call_once(request, deployment).await {
        Ok(ChatOutput::Stream(chunks)) => {
            request
                .stats
                .record_latency(&deployment.id, started.elapsed(), ttl);
            // A stream is in flight until it ends, not until its first chunk.
            let held = async_stream::stream! {
                let _in_flight = in_flight;
                let mut chunks = chunks;
                while let Some(event) = chunks.next().await {
                    yield event;
                }
            };
            Ok(ChatOutput::Stream(Box::pin(held)))
        }
        Ok(output) => {
            request
                .stats
                .record_latency(&deployment.id, started.elapsed(), ttl);
            Ok(output)
        }
        Err(error) => {
            request.stats.record_failure(
                &deployment.id,
                deployment.timeout.min(started.elapsed() * 2),
                ttl,
            );
            Err(error)
        }
    }
}

/// A stream is not accepted until its first event: a failure before it is a
/// failed attempt, so it can be retried.
async fn call_once(
    request: &Request<'_>,
    deployment: &Deployment,
) -> Result<ChatOutput, ProviderError> {
    let call = ChatCall {
        client: request.client,
        body: body_for(&request.body, deployment, request.wildcard),
        stream: request.stream,
        include_usage: request.include_usage,
        timeout: deployment.timeout,
        stream_timeout: deployment.stream_timeout,
        drop_params: deployment.drop_params,
        request_id: request.request_id,
        model_group: &deployment.model_name,
    };
    let output = deployment.upstream.chat(call).await?;
    let ChatOutput::Stream(mut chunks) = output else {
        return Ok(output);
    };
    let first = tokio::time::timeout(deployment.stream_timeout, chunks.next())
        .await
        .map_err(|_| ProviderError::timeout(deployment.provider, deployment.stream_timeout))?;
    match first {
        Some(StreamEvent::Error { .. }) | None => Err(ProviderError {
            status: StatusCode::BAD_GATEWAY,
            message: format!(
                "{}: the stream ended before its first chunk",
                deployment.provider
            ),
            kind: "api_connection_error".into(),
            param: None,
            code: Some("502".into()),
            retry_after: None,
        }),
        Some(event) => Ok(ChatOutput::Stream(Box::pin(
            futures::stream::iter([event]).chain(chunks),
        ))),
    }
}
