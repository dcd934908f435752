//! What the non-chat OpenAI endpoints (embeddings, legacy completions) share
//! with the chat path: reading the body, admitting the model, routing
//! through the router (retries, cooldowns, fallbacks), and the `x-litellm-*`
//! response headers.

use super::AppState;
use super::MAX_BODY_BYTES;
use super::auth::Caller;
use super::error::ApiError;
use crate::providers::stream::Usage;
use crate::router;
use crate::runtime::{Deployment, Resolved, Runtime};
use crate::usage::Accounting;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Reads the body within the gateway's size limit.
pub async fn read_body(request: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "Request body is too large (the limit is 32 MiB) or could not be read.",
            )
        })?;
    Ok((parts.headers, body))
}

/// The body as a JSON object with a non-empty string `model`.
pub fn parse_object(body: &[u8]) -> Result<(String, Map<String, Value>), ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("Request body is not valid JSON: {e}."), None)
    })?;
    let Value::Object(body) = value else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object.",
            None,
        ));
    };
    match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => Ok((m.clone(), body)),
        _ => Err(ApiError::bad_request(
            "`model` is required and must be a string. Call `/v1/models` to see the models available to your key.",
            Some("model"),
        )),
    }
}

/// The `stream` flag and `stream_options.include_usage`.
pub fn stream_flags(body: &Map<String, Value>) -> Result<(bool, bool), ApiError> {
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`stream` must be true or false.",
                Some("stream"),
            ));
        }
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((stream, include_usage))
}

/// A request admitted to a model group: authenticated, allowed to use the
/// model, the model resolved (exact, `model_group_alias`, wildcard).
pub struct Admitted {
    pub runtime: Arc<Runtime>,
    /// The model group the request's `model` resolved to.
    pub group: String,
    /// What a wildcard group's `*` matched.
    pub wildcard: Option<String>,
    pub accounting: Accounting,
    /// `x-ratelimit-*` and `x-litellm-key-spend` for the response.
    pub limit_headers: LimitHeaders,
}

pub type LimitHeaders = Vec<(&'static str, String)>;

/// Authenticates, authorizes `model` and the end user, resolves it to a model group and
/// starts accounting for `call_type` (LiteLLM's names: `aembedding`,
/// `atext_completion`).
pub async fn admit(
    app: &AppState,
    headers: &HeaderMap,
    model: &str,
    body: &Map<String, Value>,
    request_id: String,
    call_type: &str,
) -> Result<Admitted, ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    // End user from the body's `user` or LiteLLM's header, as the spend log
    // reads it: a blocked one is refused (400) before anything is held.
    let meta = crate::usage::RequestMeta::read(body, headers);
    let caller = super::admission::caller_for(&runtime, headers, model, meta.end_user.as_deref())?;
    let resolved = resolve_group(&runtime, &caller, model)?;
    let (group, wildcard) = (resolved.group.name.clone(), resolved.wildcard.clone());
    let mut accounting = Accounting::start(
        app.usage.clone(),
        request_id,
        call_type,
        caller.key_hash.to_hex(),
    );
    accounting.set_key(caller.key.as_deref());
    let end_user = meta.end_user.clone();
    accounting.set_request_meta(meta);
    let scope = crate::limits::RequestScope {
        key: caller.key.as_deref(),
        end_user: end_user.as_deref(),
        model,
        budget_estimate: crate::limits::estimate::input_output(body, resolved.group),
    };
    let (accounting, limit_headers) = hold_limits(app, &runtime, &scope, accounting).await?;
    Ok(Admitted {
        runtime,
        group,
        wildcard,
        accounting,
        limit_headers,
    })
}

/// The model group a request's `model` names, through the caller's aliases,
/// `model_group_alias` and wildcards: 400 naming the model if none, 503 if
/// the group has no deployments.
pub fn resolve_group<'r>(
    runtime: &'r Runtime,
    caller: &Caller,
    model: &str,
) -> Result<Resolved<'r>, ApiError> {
    let resolved = runtime.resolve(caller.alias(model)).ok_or_else(|| {
        ApiError::bad_request(
            format!(
                "Invalid model name passed in model={model}. Call `/v1/models` to view available models for your key."
            ),
            Some("model"),
        )
    })?;
    if resolved.group.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            format!("Model group {} has no deployments.", resolved.group.name),
        ));
    }
    Ok(resolved)
}

/// Takes the request's units of every fleet-wide limit and budget it
/// touches (see `limits`); the permit rides with `accounting`, which
/// settles it. A refusal is recorded as the request's outcome.
pub async fn hold_limits(
    app: &AppState,
    runtime: &Runtime,
    scope: &crate::limits::RequestScope<'_>,
    mut accounting: Accounting,
) -> Result<(Accounting, LimitHeaders), ApiError> {
    let needs = crate::limits::plan(&runtime.limits, scope);
    match app.limiter.admit(needs).await {
        Ok(permit) => {
            let headers = app.limiter.headers(permit.needs());
            accounting.attach_permit(permit);
            Ok((accounting, headers))
        }
        Err(refusal) => {
            let error = refusal.into_api_error(runtime.limits.budget_status);
            metrics::counter!("tollgate_limit_refusals_total", "kind" => refusal_kind(error.kind())).increment(1);
            accounting.fail_with(error.status.as_u16(), error.kind());
            Err(error)
        }
    }
}

/// A closed list for the refusal metric's `kind` label.
fn refusal_kind(error_type: &str) -> &'static str {
    match error_type {
        "budget_exceeded" => "budget",
        "rate_limit_error" => "rate_limit",
        _ => "other",
    }
}

/// How a routed request went, for the response headers.
#[derive(Clone, Default)]
pub struct Routed {
    /// The group and deployment that answered (none on failure).
    pub served: Option<(String, Arc<Deployment>)>,
    pub retries: u32,
    pub fallbacks: u32,
    /// Time spent waiting on providers (retries included): the rest of
    /// the request's time is the gateway's overhead.
    pub upstream: std::time::Duration,
    pub limit_headers: LimitHeaders,
}

/// Sends `op` through the router (retries, cooldowns, fallbacks). On
/// success, accounting names the deployment that answered and is handed
/// back with the output; on failure it records the error, which becomes the
/// client's.
pub async fn route_call<O: router::Operation>(
    app: &AppState,
    admitted: Admitted,
    op: &O,
    overrides: router::Overrides,
    routed_out: &mut Option<Routed>,
) -> Result<(O::Output, Accounting), ApiError> {
    let Admitted {
        runtime,
        group,
        mut accounting,
        limit_headers,
        ..
    } = admitted;
    let Some(first) = runtime.group(&group) else {
        return Err(ApiError::not_ready());
    };
    let ctx = router::Context {
        runtime: &runtime,
        cooldowns: &app.cooldowns,
        stats: &app.stats,
        overrides,
        limiter: Some(&app.limiter),
    };
    let upstream_started = std::time::Instant::now();
    let result = router::route_call(&ctx, op, first).await;
    let upstream = upstream_started.elapsed();
    accounting.set_overhead(accounting.elapsed().saturating_sub(upstream));
    match result {
        Ok(routed) => {
            account_served(&mut accounting, &routed);
            *routed_out = Some(Routed {
                served: Some((routed.group, routed.deployment)),
                retries: routed.retries,
                fallbacks: routed.fallbacks,
                upstream,
                limit_headers,
            });
            Ok((routed.output, accounting))
        }
        Err(failed) => {
            *routed_out = Some(Routed {
                served: None,
                retries: failed.retries,
                fallbacks: failed.fallbacks,
                upstream,
                limit_headers,
            });
            Err(account_failed(accounting, failed))
        }
    }
}

/// Names, in the request's record, the deployment that answered, its
/// price, and the attempts it took.
pub fn account_served<O>(accounting: &mut Accounting, routed: &router::Routed<O>) {
    let d = &routed.deployment;
    accounting.set_route(&routed.group, &d.id, d.provider, d.upstream.api_base());
    accounting.set_price(d.price);
    accounting.set_metrics(&d.metrics);
    accounting.set_attempts(routed.retries, routed.fallbacks);
}

/// Records a request the router could not serve; its error is the client's.
pub fn account_failed(mut accounting: Accounting, failed: router::Failed) -> ApiError {
    if let Some(d) = &failed.deployment {
        accounting.set_route(&d.model_name, &d.id, d.provider, d.upstream.api_base());
        accounting.set_price(d.price);
        accounting.set_metrics(&d.metrics);
    }
    accounting.set_attempts(failed.retries, failed.fallbacks);
    accounting.fail_with(failed.error.status.as_u16(), &failed.error.kind);
    ApiError::from(failed.error)
}

/// LiteLLM's response headers: which call, deployment and group answered,
/// after how many retries and fallbacks.
pub fn set_litellm_headers(response: &mut Response, call_id: &str, routed: Option<&Routed>) {
    set_header(response, "x-litellm-call-id", call_id);
    let Some(routed) = routed else {
        return;
    };
    for (name, value) in &routed.limit_headers {
        set_header(response, name, value);
    }
    if let Some((group, deployment)) = &routed.served {
        set_header(response, "x-litellm-model-id", &deployment.id);
        set_header(response, "x-litellm-model-group", group);
        let api_base = deployment.upstream.api_base();
        if !api_base.is_empty() {
            set_header(response, "x-litellm-model-api-base", api_base);
        }
    }
    set_header(
        response,
        "x-litellm-attempted-retries",
        &routed.retries.to_string(),
    );
    set_header(
        response,
        "x-litellm-attempted-fallbacks",
        &routed.fallbacks.to_string(),
    );
}

pub(super) fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
}

/// A complete response whose provider sent no `usage`, with the count it
/// was charged: clients (and LiteLLM's SDKs) read cost from `usage`. The
/// body is left as sent when nothing was counted or it is not an object.
pub fn with_counted_usage(body: Bytes, counted: Option<Usage>) -> Bytes {
    let Some(usage) = counted else {
        return body;
    };
    let Ok(mut object) = serde_json::from_slice::<Map<String, Value>>(&body) else {
        return body;
    };
    object.insert("usage".into(), usage.openai_json());
    serde_json::to_vec(&object).map_or(body, Bytes::from)
}
