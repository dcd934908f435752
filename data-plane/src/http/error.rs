//! The one error type handlers return; it renders OpenAI's error shape.

use crate::providers::ProviderError;
use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tollgate_shared::error::ErrorEnvelope;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors are the rare path, and a small `Result` keeps the
    /// common one cheap.
    pub body: Box<ErrorEnvelope>,
    pub retry_after: Option<HeaderValue>,
    /// More headers for the client (`x-ratelimit-*` on a rate-limit 429).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorEnvelope::new(message, kind, status.as_u16())),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        if let Some(p) = param {
            e.body.error.param = Some(p.to_string());
        }
        e
    }

    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "This Tollgate data plane has no configuration yet: it has not reached the control plane and has no saved snapshot. Check --control-plane and --cluster-token, and that the control plane is running.",
        )
    }

    pub fn kind(&self) -> &str {
        &self.body.error.kind
    }
}

impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        let mut body = ErrorEnvelope::new(e.message, e.kind, e.status.as_u16());
        body.error.param = e.param;
        body.error.code = e.code;
        Self {
            status: e.status,
            body: Box::new(body),
            retry_after: e.retry_after.map(|v| *v),
            headers: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // What refused the request, on its SERVER span (no message: it can
        // name the key's alias or the model asked for).
        tracing::trace!(
            tollgate.refusal.reason = self.kind(),
            http.response.status_code = i64::from(self.status.as_u16()),
            "tollgate.refusal"
        );
        let mut response = (self.status, Json(*self.body)).into_response();
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
