//! What the non-chat OpenAI endpoints (embeddings, legacy completions) share
//! with the chat path: reading the body, routing the model to a deployment,
//! starting accounting, and the `x-litellm-*` response headers.

use super::AppState;
use super::MAX_BODY_BYTES;
use super::auth::authenticate;
use super::error::ApiError;
use crate::runtime::{Deployment, GATEWAY_ONLY_PARAMS};
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

/// A request routed to one deployment.
#[derive(Clone)]
pub struct Routed {
    pub group: String,
    pub deployment: Arc<Deployment>,
}

/// Authenticates, authorizes `model`, picks a deployment and starts
/// accounting for `call_type` (LiteLLM's names: `aembedding`, `atext_completion`).
pub fn route(
    app: &AppState,
    headers: &HeaderMap,
    model: &str,
    request_id: String,
    call_type: &str,
) -> Result<(Routed, Accounting), ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let caller = authenticate(headers, &runtime)?;
    caller.authorize_model(&runtime, model)?;
    let group = runtime.group(model).ok_or_else(|| {
        ApiError::bad_request(
            format!(
                "Invalid model name passed in model={model}. Call `/v1/models` to view available models for your key."
            ),
            Some("model"),
        )
    })?;
    let deployment = Arc::clone(group.pick().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            format!("Model group {} has no deployments.", group.name),
        )
    })?);
    let mut accounting = Accounting::start(
        app.usage.clone(),
        request_id,
        call_type,
        caller.key_hash.to_hex(),
    );
    accounting.set_route(
        &group.name,
        &deployment.id,
        deployment.provider,
        deployment.upstream.api_base(),
    );
    accounting.set_price(deployment.price);
    Ok((
        Routed {
            group: group.name.clone(),
            deployment,
        },
        accounting,
    ))
}

/// The body the provider gets: its model name, no gateway-only parameters,
/// the deployment's default parameters where the caller gave none.
pub fn upstream_body(
    mut request: Map<String, Value>,
    deployment: &Deployment,
) -> Map<String, Value> {
    request.insert(
        "model".into(),
        Value::String(deployment.upstream_model.clone()),
    );
    for key in GATEWAY_ONLY_PARAMS {
        request.remove(key);
    }
    for (key, value) in &deployment.default_params {
        request.entry(key.clone()).or_insert_with(|| value.clone());
    }
    request
}

/// LiteLLM's response headers: which call, deployment and group answered.
pub fn set_litellm_headers(response: &mut Response, call_id: &str, routed: Option<&Routed>) {
    set_header(response, "x-litellm-call-id", call_id);
    if let Some(routed) = routed {
        set_header(response, "x-litellm-model-id", &routed.deployment.id);
        set_header(response, "x-litellm-model-group", &routed.group);
        let api_base = routed.deployment.upstream.api_base();
        if !api_base.is_empty() {
            set_header(response, "x-litellm-model-api-base", api_base);
        }
    }
}

fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
}
