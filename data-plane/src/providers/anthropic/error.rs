//! Anthropic's errors (`{"type":"error","error":{"type","message"}}`) in
//! OpenAI's classes.

use super::ProviderError;
use http::StatusCode;

/// A request the translation refuses before anything is sent (small, so
/// the translation's `Result`s stay cheap; widened at the boundary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("anthropic: {message}")]
pub struct InvalidRequest {
    pub message: String,
    pub param: Option<String>,
}

pub fn invalid_request(message: &str, param: Option<&str>) -> InvalidRequest {
    InvalidRequest {
        message: message.to_string(),
        param: param.map(str::to_string),
    }
}

impl From<InvalidRequest> for ProviderError {
    fn from(error: InvalidRequest) -> Self {
        ProviderError::invalid_request(error.to_string(), error.param.as_deref())
    }
}

/// Maps a [`ProviderError`] read from an Anthropic error response (the
/// shared reader already takes `error.type` and `error.message`) onto
/// OpenAI's classes and machine codes.
pub fn normalise(mut error: ProviderError) -> ProviderError {
    // 529 is Anthropic's "overloaded": OpenAI clients know 503.
    if error.status.as_u16() == 529 || error.kind == "overloaded_error" {
        error.status = StatusCode::SERVICE_UNAVAILABLE;
        error.kind = "api_error".into();
        error.code = Some("503".into());
        return error;
    }
    error.kind = openai_kind(&error.kind, error.status).into();
    let message = error.message.to_ascii_lowercase();
    if message.contains("prompt is too long") || message.contains("input is too long") {
        error.code = Some("context_length_exceeded".into());
        error.param = Some("messages".into());
    } else if message.contains("content filtering policy") {
        error.code = Some("content_policy_violation".into());
    }
    error
}

/// Anthropic's `error.type` → OpenAI's `error.type`.
pub fn openai_kind(anthropic: &str, status: StatusCode) -> &'static str {
    match anthropic {
        "invalid_request_error" | "request_too_large" => "invalid_request_error",
        "authentication_error" => "authentication_error",
        "permission_error" => "permission_error",
        "not_found_error" => "not_found_error",
        "rate_limit_error" => "rate_limit_error",
        "overloaded_error" | "api_error" => "api_error",
        _ => match status.as_u16() {
            400 | 413 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            _ => "api_error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, kind: &str, message: &str) -> ProviderError {
        ProviderError {
            status: StatusCode::from_u16(status).expect("status"),
            message: format!("anthropic: {message}"),
            kind: kind.into(),
            param: None,
            code: Some(status.to_string()),
            retry_after: None,
        }
    }

    #[test]
    fn overloaded_is_a_503() {
        let e = normalise(error(529, "overloaded_error", "Overloaded"));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.kind, "api_error");
        assert_eq!(e.code.as_deref(), Some("503"));
    }

    #[test]
    fn prompt_too_long_is_context_length_exceeded() {
        let e = normalise(error(
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        ));
        assert_eq!(e.code.as_deref(), Some("context_length_exceeded"));
        assert_eq!(e.kind, "invalid_request_error");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn classes_map_to_openai() {
        let e = normalise(error(
            413,
            "request_too_large",
            "Request exceeds the maximum size",
        ));
        assert_eq!(e.kind, "invalid_request_error");
        let e = normalise(error(401, "authentication_error", "invalid x-api-key"));
        assert_eq!(e.kind, "authentication_error");
        assert_eq!(e.code.as_deref(), Some("401"));
        let e = normalise(error(500, "api_error", "Internal server error"));
        assert_eq!(e.kind, "api_error");
        let e = normalise(error(
            400,
            "invalid_request_error",
            "Output blocked by content filtering policy",
        ));
        assert_eq!(e.code.as_deref(), Some("content_policy_violation"));
    }
}
