//! Google's error envelope, `{"error":{"code","message","status"}}`, with the
//! messages and statuses AI Studio really sends.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::json_response;
use crate::faults::{Fault, FaultKind};

const UNAUTHENTICATED_MESSAGE: &str = "Request is missing required authentication credential. Expected OAuth 2 access token, API key, or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const RATE_LIMIT_MESSAGE: &str = "Resource has been exhausted (e.g. check quota).";
const SERVER_ERROR_MESSAGE: &str = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
const CONTEXT_LENGTH_MESSAGE: &str =
    "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<String>,
}

impl GoogleError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, UNAUTHENTICATED_MESSAGE)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!(
                "{what} is not found for API version v1beta, or is not supported for generateContent."
            ),
        )
    }

    /// A content-policy fault is not an error at Google: it is a 200 with
    /// `promptFeedback.blockReason`, rendered by the caller.
    pub fn from_fault(fault: &Fault, model: &str) -> Self {
        let mut error = match fault.kind {
            FaultKind::RateLimit => Self::new(fault.status, RATE_LIMIT_MESSAGE),
            FaultKind::ServerError => Self::new(fault.status, SERVER_ERROR_MESSAGE),
            FaultKind::ContextLength => Self::new(fault.status, CONTEXT_LENGTH_MESSAGE),
            FaultKind::ContentPolicy | FaultKind::Status => match fault.status {
                StatusCode::UNAUTHORIZED => Self::unauthenticated(),
                StatusCode::FORBIDDEN => Self::new(
                    fault.status,
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                ),
                StatusCode::NOT_FOUND => Self::not_found(&format!("models/{model}")),
                status => Self::new(status, format!("mock: injected {status}")),
            },
        };
        error.retry_after.clone_from(&fault.retry_after);
        error
    }
}

/// Google's canonical status name for an HTTP status.
pub fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "code": self.status.as_u16(),
            "message": self.message,
            "status": status_name(self.status),
        }});
        let mut response = json_response(self.status, &body);
        if let Some(value) = self.retry_after.and_then(|v| HeaderValue::try_from(v).ok()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
