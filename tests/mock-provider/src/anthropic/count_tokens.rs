//! `POST /v1/messages/count_tokens`: the prompt's tokens by the same rule
//! as a message's `input_tokens`, with the real endpoint's strictness (no
//! `max_tokens`, no sampling parameters: unknown fields are refused).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::AnthropicError;
use crate::app::{SharedState, json_response};

const COUNT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
];

pub async fn handle(
    State(_state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AnthropicError> {
    if !headers.contains_key("x-api-key") {
        return Err(AnthropicError::missing_api_key());
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&body) else {
        return Err(AnthropicError::invalid_request(
            "body must be a JSON object",
        ));
    };
    if let Some(extra) = fields.keys().find(|k| !COUNT_FIELDS.contains(&k.as_str())) {
        return Err(AnthropicError::invalid_request(format!(
            "{extra}: Extra inputs are not permitted"
        )));
    }
    // The message rule, which needs a `max_tokens`.
    fields.insert("max_tokens".into(), json!(1));
    let request = super::validate(&Value::Object(fields))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"input_tokens": request.input_tokens}),
    ))
}
