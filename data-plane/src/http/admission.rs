//! The admission sequence every model route shares (chat, `/v1/messages`,
//! `/v1/responses`, the media routes): authenticate the caller, check that
//! it may use the model and act for the end user, then — once the route
//! has resolved its model group and estimated the request's cost, which
//! is each route's own — start the request's accounting and take its units
//! of every fleet-wide limit and budget. Two halves, because what lies
//! between them is route-specific (the Responses API opens
//! `previous_response_id` and may pin the group to a deployment), and their
//! order decides which error a client sees first.

use super::AppState;
use super::auth::{Caller, authenticate};
use super::endpoint::{LimitHeaders, hold_limits};
use super::error::ApiError;
use crate::runtime::Runtime;
use crate::usage::{Accounting, RequestMeta};
use axum::http::HeaderMap;

/// The caller may use `model` (403 otherwise) and act for `end_user` (400
/// if that end user is blocked). Routes that authenticate before reading
/// the body (chat, `/v1/messages`: a bad key is a 401 whatever the body)
/// call this once the body named the model.
pub fn authorize(
    runtime: &Runtime,
    caller: &Caller,
    model: &str,
    end_user: Option<&str>,
) -> Result<(), ApiError> {
    caller.authorize_model(runtime, model)?;
    caller.authorize_end_user(runtime, end_user)
}

/// The caller behind `headers` (401 if unknown, blocked or expired),
/// [`authorize`]d: for routes whose body was read and checked first.
pub fn caller_for(
    runtime: &Runtime,
    headers: &HeaderMap,
    model: &str,
    end_user: Option<&str>,
) -> Result<Caller, ApiError> {
    let caller = authenticate(headers, runtime)?;
    authorize(runtime, &caller, model, end_user)?;
    Ok(caller)
}

/// What the request's record and its limits need to know.
pub struct Metered<'a> {
    /// LiteLLM's call type (`acompletion`, `anthropic_messages`, …).
    pub call_type: &'static str,
    pub request_id: String,
    /// The model the client named (per-key model limits use it).
    pub model: &'a str,
    pub stream: bool,
    /// End user, tags, metadata; its end user is the one metered.
    pub meta: RequestMeta,
    /// The budget reservation (see `limits::estimate`).
    pub budget_estimate: u64,
}

/// Starts the request's accounting for `caller` and holds its limits: a
/// refusal (429) is recorded as the request's outcome and returned.
pub async fn meter(
    app: &AppState,
    runtime: &Runtime,
    caller: &Caller,
    request: Metered<'_>,
) -> Result<(Accounting, LimitHeaders), ApiError> {
    let mut accounting = Accounting::start(
        app.usage.clone(),
        request.request_id,
        request.call_type,
        caller.key_hash.to_hex(),
    );
    accounting.set_stream(request.stream);
    accounting.set_key(caller.key.as_deref());
    let end_user = request.meta.end_user.clone();
    accounting.set_request_meta(request.meta);
    let scope = crate::limits::RequestScope {
        key: caller.key.as_deref(),
        end_user: end_user.as_deref(),
        model: request.model,
        budget_estimate: request.budget_estimate,
    };
    hold_limits(app, runtime, &scope, accounting).await
}
