//! Anthropic's error shape, `{"type":"error","error":{"type","message"}}`,
//! for every answer the Messages routes give that is not a success: the
//! gateway's own refusals (auth, limits, validation) and the providers'
//! failures alike, with the status kept.

use crate::http::error::ApiError;
use crate::providers::ProviderError;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

#[derive(Debug)]
pub struct AnthropicError {
    pub status: StatusCode,
    /// Anthropic's `error.type` (`invalid_request_error`, `rate_limit_error`, …).
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<HeaderValue>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Anthropic's `error.type` for an HTTP status (its documented table).
pub fn kind_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 405 | 409 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

impl AnthropicError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind_for(status),
            message: message.into(),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The error body as bytes (also the data of a stream's `error` event).
    pub fn body(&self) -> Bytes {
        error_body(self.kind, &self.message)
    }
}

/// `{"type":"error","error":{"type":…,"message":…}}`.
pub fn error_body(kind: &str, message: &str) -> Bytes {
    Bytes::from(json!({"type": "error", "error": {"type": kind, "message": message}}).to_string())
}

/// A stream's last event when it breaks after it started.
pub fn error_event(kind: &str, message: &str) -> Bytes {
    let body = error_body(kind, message);
    let mut frame = Vec::with_capacity(body.len() + 24);
    frame.extend_from_slice(b"event: error\ndata: ");
    frame.extend_from_slice(&body);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

impl From<ApiError> for AnthropicError {
    fn from(e: ApiError) -> Self {
        let mut out = Self::new(e.status, e.body.error.message.clone());
        out.retry_after = e.retry_after;
        out.headers = e.headers;
        out
    }
}

impl From<ProviderError> for AnthropicError {
    fn from(e: ProviderError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for AnthropicError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body(),
        )
            .into_response();
        if let Some(retry_after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_anthropic_types() {
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (529, "overloaded_error"),
        ] {
            let status = StatusCode::from_u16(status).expect("status");
            assert_eq!(kind_for(status), kind, "{status}");
        }
        let e = AnthropicError::from(ApiError::bad_request("`max_tokens` is missing", None));
        let body: serde_json::Value = serde_json::from_slice(&e.body()).expect("json");
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "`max_tokens` is missing"}})
        );
    }
}
