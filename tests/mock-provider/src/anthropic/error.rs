//! Anthropic's error envelope, `{"type":"error","error":{"type","message"}}`,
//! with the messages and statuses the real API uses.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::json_response;
use crate::faults::{Fault, FaultKind};

const RATE_LIMIT_MESSAGE: &str = "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.";
const CONTEXT_LENGTH_MESSAGE: &str = "prompt is too long: 208310 tokens > 200000 maximum";
const CONTENT_POLICY_MESSAGE: &str = "Output blocked by content filtering policy";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<String>,
}

impl AnthropicError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn missing_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        )
    }

    pub fn missing_version() -> Self {
        Self::invalid_request("anthropic-version: header is required")
    }

    pub fn from_fault(fault: &Fault, model: &str) -> Self {
        let status = fault.status;
        let mut error = match fault.kind {
            FaultKind::RateLimit => Self::new(status, "rate_limit_error", RATE_LIMIT_MESSAGE),
            FaultKind::ServerError => Self::new(status, "api_error", "Internal server error"),
            FaultKind::ContextLength => Self::invalid_request(CONTEXT_LENGTH_MESSAGE),
            FaultKind::ContentPolicy => Self::invalid_request(CONTENT_POLICY_MESSAGE),
            FaultKind::Status => Self::generic(status, model),
        };
        error.retry_after.clone_from(&fault.retry_after);
        error
    }

    fn generic(status: StatusCode, model: &str) -> Self {
        match status.as_u16() {
            401 => Self::new(status, "authentication_error", "invalid x-api-key"),
            403 => Self::new(
                status,
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            ),
            404 => Self::new(status, "not_found_error", format!("model: {model}")),
            413 => Self::new(
                status,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
            ),
            429 => Self::new(status, "rate_limit_error", RATE_LIMIT_MESSAGE),
            529 => Self::new(status, "overloaded_error", "Overloaded"),
            s if s >= 500 => Self::new(status, "api_error", "Internal server error"),
            _ => Self::invalid_request(format!("mock: injected status {status}")),
        }
    }
}

impl IntoResponse for AnthropicError {
    fn into_response(self) -> Response {
        let body = json!({"type": "error", "error": {"type": self.kind, "message": self.message}});
        let mut response = json_response(self.status, &body);
        if let Some(value) = self.retry_after.and_then(|v| HeaderValue::try_from(v).ok()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
