//! Attempts inside one model group: pick a deployment (not cooling down,
//! under its `rpm`/`tpm`, healthy if any is, lowest `order`, then the
//! strategy), call it, cool it down per LiteLLM's rule when it fails, and
//! retry per `num_retries` / `retry_policy`.

use super::cooldown::{Failure, cooldown_for};
use super::error_class::ErrorClass;
use super::operation::{Meter, Metered, Operation};
use super::policy::{FailureClass, MAX_RETRY_WAIT, RoutingPolicy};
use super::span::AttemptInfo;
use super::timeouts::Timeouts;
use super::{Context, Failed, Routed};
use crate::providers::ProviderError;
use crate::runtime::{Deployment, ModelGroup};
use crate::usage::tokenizer::Encoding;
use http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

pub(super) async fn attempt_group<O: Operation>(
    ctx: &Context<'_>,
    op: &O,
    group: &ModelGroup,
    fail_first: bool,
    fallback: Option<(&str, &'static str)>,
) -> Result<Routed<O::Output>, Failed> {
    let policy = &ctx.runtime.routing;
    let mut tried: Vec<Arc<Deployment>> = Vec::new();
    let mut last: Option<(ProviderError, Arc<Deployment>)> = None;
    let mut retries: u32 = 0;
    let prompt = prompt_size(ctx, op, group);
    let fits = |d: &Deployment| {
        prompt.is_none_or(|p| d.token_limits.context_window.is_none_or(|w| p <= w))
    };
    if let Some(tokens) = prompt
        && !group.deployments().iter().any(|d| fits(d))
    {
        return Err(Failed {
            error: context_window_exceeded(group, tokens),
            deployment: None,
            retries,
            fallbacks: 0,
        });
    }
    loop {
        let fresh = choose(ctx, group, |d| {
            fits(d) && !tried.iter().any(|t| t.id == d.id)
        });
        let Some(deployment) = fresh.or_else(|| choose(ctx, group, fits)).map(Arc::clone) else {
            let (error, deployment) = match last {
                Some((error, deployment)) => (error, Some(deployment)),
                None => (unavailable(ctx, group), None),
            };
            return Err(Failed {
                error,
                deployment,
                retries,
                fallbacks: 0,
            });
        };
        if let Some((error, previous)) = &last {
            // Same deployment again: wait as it asked. Another one: go now.
            if previous.id == deployment.id {
                tokio::time::sleep(retry_wait(error, policy, retries.saturating_sub(1))).await;
            }
        }
        // The deployment's own rpm/tpm, for the whole fleet: a refusal sets
        // it aside for the minute and costs no retry.
        let permit = match hold_deployment(ctx, &deployment).await {
            Ok(permit) => permit,
            Err(()) => continue,
        };
        let info = AttemptInfo {
            number: retries + 1,
            retry_of: last.as_ref().map(|(e, _)| e.status.as_str()),
            fallback,
        };
        let span = super::span::attempt(op.operation_name(), &deployment, &info);
        if ctx.runtime.otel.capture_content
            && !super::span::unrecorded(&span)
            && let Some(content) = op.input_content()
        {
            // Opted in (OtelSettings::capture_content): off by default.
            span.record(
                tollgate_telemetry::semconv::GEN_AI_INPUT_MESSAGES,
                content.as_str(),
            );
        }
        let outcome = if fail_first && last.is_none() {
            super::span::failed(&span, "500");
            Err(ProviderError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "mock_testing_fallbacks: this deployment failed on purpose to exercise fallbacks".into(),
                kind: "api_error".into(),
                param: None,
                code: Some("500".into()),
                retry_after: None,
            })
        } else {
            call(ctx, op, &deployment, group.len(), permit, span).await
        };
        let error = match outcome {
            Ok(output) => {
                return Ok(Routed {
                    output,
                    deployment,
                    group: group.name.clone(),
                    retries,
                    fallbacks: 0,
                });
            }
            Err(error) => error,
        };
        tried.push(Arc::clone(&deployment));
        let status = error.status.as_u16();
        let class = FailureClass::of(status, error.code.as_deref());
        let listed = policy
            .retry_policy
            .get(ErrorClass::of(status, error.code.as_deref()));
        let allowed = allowed_retries(ctx.overrides.num_retries, &deployment, listed, policy);
        // An error class the policy lists is retried even when Tollgate
        // would not (a 400 with `BadRequestErrorRetries`): it is asked for.
        let retryable = class.retryable() || listed.is_some_and(|n| n > 0);
        // Wrong credentials or model at this deployment: only another
        // deployment can help (LiteLLM: no retry without a healthy
        // alternative).
        let alternative = group
            .deployments()
            .iter()
            .any(|d| available(ctx, d) && fits(d) && !tried.iter().any(|t| t.id == d.id));
        let give_up = fail_first
            || !retryable
            || retries >= allowed
            || (class == FailureClass::Deployment && !alternative);
        last = Some((error, deployment));
        if give_up {
            break;
        }
        retries += 1;
    }
    let (error, deployment) = match last {
        Some((e, d)) => (e, Some(d)),
        None => (unavailable(ctx, group), None),
    };
    Err(Failed {
        error,
        deployment,
        retries,
        fallbacks: 0,
    })
}

/// How many retries a failure of `failed` allows, the first that is set:
/// the request's `num_retries` (the most specific wish; LiteLLM lets the
/// deployment's win instead, see docs/COMPATIBILITY.md); the failed
/// deployment's own `litellm_params.num_retries` (LiteLLM stamps it on the
/// exception and it replaces the router's count, retry-policy entries
/// included); the `retry_policy` count for this kind of error; the
/// router's `num_retries`.
fn allowed_retries(
    requested: Option<u32>,
    failed: &Deployment,
    listed: Option<u32>,
    policy: &RoutingPolicy,
) -> u32 {
    requested
        .or(failed.num_retries)
        .or(listed)
        .unwrap_or(policy.num_retries)
}

/// The prompt's token count when `enable_pre_call_checks` is on and some
/// deployment of the group has a known context window; counting costs a
/// tokenizer pass, so nothing is counted otherwise.
fn prompt_size<O: Operation>(ctx: &Context<'_>, op: &O, group: &ModelGroup) -> Option<u64> {
    let deployments = group.deployments();
    if !ctx.runtime.routing.pre_call_checks
        || deployments
            .iter()
            .all(|d| d.token_limits.context_window.is_none())
    {
        return None;
    }
    let encoding = Encoding::for_model(deployments.first().map_or("", |d| &d.upstream_model));
    Some(op.prompt_tokens(encoding))
}

/// No deployment of the group takes a prompt this long: LiteLLM's
/// `ContextWindowExceededError`, which `context_window_fallbacks` catch.
fn context_window_exceeded(group: &ModelGroup, tokens: u64) -> ProviderError {
    let largest = group
        .deployments()
        .iter()
        .filter_map(|d| d.token_limits.context_window)
        .max()
        .unwrap_or(0);
    ProviderError {
        status: StatusCode::BAD_REQUEST,
        message: format!(
            "The prompt is {tokens} tokens, more than any deployment of model group `{}` accepts (the largest context window is {largest} tokens; checked before calling, as enable_pre_call_checks asks). Shorten the prompt, or configure context_window_fallbacks to a larger model.",
            group.name
        ),
        kind: "invalid_request_error".into(),
        param: Some("messages".into()),
        code: Some("context_length_exceeded".into()),
        retry_after: None,
    }
}

/// Neither cooling down nor at its `rpm` / `tpm` this minute.
fn available(ctx: &Context<'_>, d: &Deployment) -> bool {
    !ctx.cooldowns.is_cooling(&d.id) && !over_limit(ctx, d)
}

fn over_limit(ctx: &Context<'_>, d: &Deployment) -> bool {
    if d.rpm.is_none() && d.tpm.is_none() {
        return false;
    }
    let (requests, tokens) = ctx.stats.usage().used(&d.id);
    d.rpm.is_some_and(|limit| requests >= limit) || d.tpm.is_some_and(|limit| tokens >= limit)
}

/// The deployment the strategy picks among the available ones `allow`
/// accepts: healthy ones first (if any), then the lowest `order`.
pub(super) fn choose<'a>(
    ctx: &Context<'_>,
    group: &'a ModelGroup,
    allow: impl Fn(&Deployment) -> bool,
) -> Option<&'a Arc<Deployment>> {
    let mut candidates: Vec<&Arc<Deployment>> = group
        .deployments()
        .iter()
        .filter(|d| allow(d) && available(ctx, d))
        .collect();
    // A failed background health check sets a deployment aside only while
    // another one can serve: a flaky probe must not take a group down.
    if candidates.iter().any(|d| ctx.cooldowns.is_unhealthy(&d.id)) {
        let healthy: Vec<&Arc<Deployment>> = candidates
            .iter()
            .copied()
            .filter(|d| !ctx.cooldowns.is_unhealthy(&d.id))
            .collect();
        if !healthy.is_empty() {
            candidates = healthy;
        }
    }
    let first_order = candidates.iter().map(|d| d.order).min()?;
    candidates.retain(|d| d.order == first_order);
    ctx.runtime
        .routing
        .strategy
        .choose(&candidates, ctx.stats, |subset| group.pick_among(subset))
}

/// One call to one deployment, measured for the strategies, limits and
/// cooldowns.
async fn call<O: Operation>(
    ctx: &Context<'_>,
    op: &O,
    deployment: &Arc<Deployment>,
    group_size: usize,
    permit: Option<crate::limits::Permit>,
    span: tracing::Span,
) -> Result<O::Output, ProviderError> {
    let policy = &ctx.runtime.routing;
    let usage = ctx.stats.usage();
    usage.record_request(&deployment.id);
    let in_flight = ctx.stats.start(&deployment.id);
    let started = Instant::now();
    let ttl = policy.strategy.latency_ttl();
    let timeouts = Timeouts::for_attempt(deployment, ctx.overrides.timeouts);
    // The call runs inside the attempt span: the provider client injects
    // its context as the call's `traceparent`.
    let called = tollgate_telemetry::propagation::with_injection(
        deployment.propagate_trace_context,
        op.call(deployment, timeouts).instrument(span.clone()),
    )
    .await;
    match called {
        Ok(output) => {
            let first_chunk = output.is_stream().then(|| started.elapsed());
            if let Some(ttfc) = first_chunk {
                super::span::first_chunk(&span, ttfc);
            }
            // Time to the answer, or to the first chunk of a stream.
            ctx.stats
                .record_latency(&deployment.id, started.elapsed(), ttl);
            let break_cooldown =
                (policy.cooldowns_enabled && group_size > 1 && policy.allowed_fails.is_none())
                    .then(|| (Arc::clone(ctx.cooldowns), policy.cooldown));
            Ok(output.meter(Meter {
                stats: Arc::clone(ctx.stats),
                deployment: Arc::clone(deployment),
                _in_flight: in_flight,
                break_cooldown,
                permit,
                started,
                first_chunk,
                capture_content: ctx.runtime.otel.capture_content
                    && !super::span::unrecorded(&span),
                span,
            }))
        }
        Err(error) => {
            let status = error.status.as_u16();
            deployment
                .metrics
                .attempt(started.elapsed(), None, Some(status));
            super::span::failed(&span, error_type(&error));
            ctx.stats.record_failure(
                &deployment.id,
                timeouts.total.min(started.elapsed() * 2),
                ttl,
            );
            let outcomes = usage.record_failure(&deployment.id);
            let failure = Failure {
                status: error.status.as_u16(),
                code: error.code.as_deref(),
                retry_after: retry_after(&error),
            };
            if let Some(wait) = cooldown_for(policy, &failure, group_size, outcomes) {
                tracing::debug!(deployment = %deployment.id, ?wait, status = %error.status, "cooling down");
                ctx.cooldowns.cool(&deployment.id, wait);
                deployment.metrics.cooled_down(status);
            }
            Err(error)
        }
    }
}

/// `error.type` of a failed attempt: a closed list (`timeout`,
/// `connect_error`, else the HTTP status the provider answered).
fn error_type(error: &ProviderError) -> &str {
    match error.kind.as_str() {
        "timeout" | "Timeout" => "timeout",
        "api_connection_error" if error.status == StatusCode::BAD_GATEWAY => "connect_error",
        _ => error.status.as_str(),
    }
}

/// Takes a unit of the deployment's fleet-wide `rpm` (and checks its `tpm`);
/// `Err` when the fleet has used them up this minute.
async fn hold_deployment(
    ctx: &Context<'_>,
    deployment: &Deployment,
) -> Result<Option<crate::limits::Permit>, ()> {
    let Some(limiter) = ctx.limiter else {
        return Ok(None);
    };
    let needs = crate::limits::deployment_needs(&deployment.id, deployment.rpm, deployment.tpm);
    if needs.is_empty() {
        return Ok(None);
    }
    match limiter.admit(needs).await {
        Ok(permit) => Ok(Some(permit)),
        Err(refusal) => {
            tracing::debug!(deployment = %deployment.id, limit = refusal.limit, "deployment at its fleet-wide limit");
            ctx.stats
                .usage()
                .exhaust(&deployment.id, deployment.rpm, deployment.tpm);
            Err(())
        }
    }
}

/// Every deployment is cooling down or at its limit: LiteLLM's 429, naming
/// them, with how long to wait.
fn unavailable(ctx: &Context<'_>, group: &ModelGroup) -> ProviderError {
    let cooling: Vec<&str> = group
        .deployments()
        .iter()
        .filter(|d| ctx.cooldowns.is_cooling(&d.id))
        .map(|d| d.id.as_str())
        .collect();
    let limited: Vec<&str> = group
        .deployments()
        .iter()
        .filter(|d| !ctx.cooldowns.is_cooling(&d.id) && over_limit(ctx, d))
        .map(|d| d.id.as_str())
        .collect();
    let wait = if cooling.is_empty() {
        // Limits are per wall-clock minute: they reset at the next one.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        60 - now % 60
    } else {
        ctx.cooldowns.seconds_left(&cooling)
    };
    let mut message = format!(
        "No deployments available for selected model, Try again in {wait} seconds. Passed model={}. pre-call-checks=false, cooldown_list={cooling:?}",
        group.name
    );
    if !limited.is_empty() {
        message.push_str(&format!(", rpm/tpm limit reached this minute={limited:?}"));
    }
    ProviderError {
        status: StatusCode::TOO_MANY_REQUESTS,
        message,
        kind: "rate_limit_error".into(),
        param: None,
        code: Some("429".into()),
        retry_after: http::HeaderValue::from_str(&wait.to_string())
            .ok()
            .map(Box::new),
    }
}

/// The provider's `Retry-After`: seconds (what providers send), or an HTTP
/// date (RFC 9110 allows both); a date in the past means now.
pub(super) fn retry_after(error: &ProviderError) -> Option<Duration> {
    let value = error.retry_after.as_ref()?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// How long to wait before calling the same deployment again: its
/// `retry-after`, else exponential from 0.5 s; never less than the router's
/// `retry_after`, never more than `MAX_RETRY_WAIT`.
fn retry_wait(error: &ProviderError, policy: &RoutingPolicy, attempt: u32) -> Duration {
    let backoff = Duration::from_millis(500).saturating_mul(2u32.saturating_pow(attempt.min(4)));
    retry_after(error)
        .unwrap_or(backoff)
        .max(policy.retry_after)
        .min(MAX_RETRY_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(retry_after: Option<&'static str>) -> ProviderError {
        ProviderError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: String::new(),
            kind: "rate_limit_error".into(),
            param: None,
            code: None,
            retry_after: retry_after.map(|v| Box::new(http::HeaderValue::from_static(v))),
        }
    }

    #[test]
    fn waits_honour_retry_after_then_back_off_exponentially() {
        let p = RoutingPolicy::default();
        assert_eq!(retry_wait(&error(Some("2")), &p, 0), Duration::from_secs(2));
        assert_eq!(
            retry_wait(&error(Some("0.25")), &p, 3),
            Duration::from_millis(250)
        );
        assert_eq!(retry_wait(&error(None), &p, 0), Duration::from_millis(500));
        assert_eq!(retry_wait(&error(None), &p, 2), Duration::from_secs(2));
        assert_eq!(retry_wait(&error(Some("3600")), &p, 0), MAX_RETRY_WAIT);
        assert_eq!(
            retry_wait(&error(Some("soon")), &p, 0),
            Duration::from_millis(500),
            "an unreadable header is no hint"
        );
        assert_eq!(
            retry_wait(&error(Some("Wed, 21 Oct 2015 07:28:00 GMT")), &p, 0),
            Duration::ZERO,
            "an HTTP date in the past: now"
        );
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(30)).to_rfc2822();
        let header = http::HeaderValue::from_str(&later).expect("header");
        let mut dated = error(None);
        dated.retry_after = Some(Box::new(header));
        let wait = retry_after(&dated).expect("an HTTP date is read");
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let floor = RoutingPolicy {
            retry_after: Duration::from_secs(3),
            ..RoutingPolicy::default()
        };
        assert_eq!(
            retry_wait(&error(Some("1")), &floor, 0),
            Duration::from_secs(3)
        );
    }
}
