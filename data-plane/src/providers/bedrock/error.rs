//! Bedrock's errors → OpenAI's classes. Non-stream errors are JSON
//! `{"message": ...}` with the class in the `x-amzn-errortype` header;
//! stream errors are event-stream exception messages with the class in
//! `:exception-type` (camel-cased).

use super::super::error::ProviderError;
use super::super::stream::provider_error_event;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::Value;

/// The status, OpenAI type and code for a Bedrock error class (either
/// spelling: `ThrottlingException` or `throttlingException`).
fn classify(
    error_type: &str,
    status: StatusCode,
    message: &str,
) -> (StatusCode, &'static str, Option<&'static str>) {
    let lower = message.to_ascii_lowercase();
    if lower.contains("too many input tokens")
        || lower.contains("input is too long")
        || lower.contains("prompt is too long")
        || lower.contains("context length")
        || lower.contains("too many total text bytes")
    {
        return (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("context_length_exceeded"),
        );
    }
    let class = error_type
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let status = match class.as_str() {
        "throttlingexception" | "servicequotaexceededexception" => StatusCode::TOO_MANY_REQUESTS,
        "validationexception" => StatusCode::BAD_REQUEST,
        "accessdeniedexception" => StatusCode::FORBIDDEN,
        "unrecognizedclientexception" | "invalidsignatureexception" | "expiredtokenexception" => {
            StatusCode::UNAUTHORIZED
        }
        "resourcenotfoundexception" => StatusCode::NOT_FOUND,
        "modeltimeoutexception" => StatusCode::REQUEST_TIMEOUT,
        "serviceunavailableexception" | "modelnotreadyexception" => StatusCode::SERVICE_UNAVAILABLE,
        "internalserverexception" | "modelstreamerrorexception" | "modelerrorexception" => {
            if status.is_server_error() {
                status
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
        _ => status,
    };
    let kind = match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 => "timeout",
        429 => "rate_limit_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    (status, kind, None)
}

/// Builds the error for a non-2xx response from its parts.
pub fn from_parts(
    status: StatusCode,
    error_type: Option<&str>,
    retry_after: Option<Box<HeaderValue>>,
    body: &[u8],
    secret: Option<&str>,
) -> ProviderError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            if body.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                String::from_utf8_lossy(body).into_owned()
            }
        });
    let (status, kind, code) = classify(error_type.unwrap_or(""), status, &message);
    let mut message = format!("bedrock: {message}");
    if let Some(s) = secret.filter(|s| s.len() >= 8) {
        message = message.replace(s, "***");
    }
    ProviderError {
        status,
        message,
        kind: kind.to_string(),
        param: None,
        code: Some(code.map_or_else(|| status.as_u16().to_string(), str::to_string)),
        retry_after,
    }
}

/// An exception message inside a stream, as an OpenAI error event frame.
pub fn stream_exception(exception_type: &str, payload: &[u8]) -> (Bytes, &'static str) {
    let e = from_parts(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(exception_type),
        None,
        payload,
        None,
    );
    let kind: &'static str = match e.status.as_u16() {
        400 => "invalid_request_error",
        429 => "rate_limit_error",
        408 => "timeout",
        _ => "api_error",
    };
    (provider_error_event(&e), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_error_classes_map_to_openai() {
        for (class, status) in [
            ("ThrottlingException", 429),
            ("ValidationException", 400),
            ("AccessDeniedException", 403),
            ("ResourceNotFoundException", 404),
            ("ModelTimeoutException", 408),
            ("ServiceUnavailableException", 503),
        ] {
            let e = from_parts(
                StatusCode::IM_A_TEAPOT,
                Some(&format!(
                    "{class}:http://internal.amazon.com/coral/com.amazon.bedrock/"
                )),
                None,
                br#"{"message":"nope"}"#,
                None,
            );
            assert_eq!(e.status.as_u16(), status, "{class}");
            assert_eq!(e.message, "bedrock: nope");
        }
    }

    #[test]
    fn context_length_is_recognised() {
        let e = from_parts(
            StatusCode::BAD_REQUEST,
            Some("ValidationException"),
            None,
            br#"{"message":"Input is too long for requested model."}"#,
            None,
        );
        assert_eq!(e.code.as_deref(), Some("context_length_exceeded"));
        assert_eq!(e.kind, "invalid_request_error");
    }

    #[test]
    fn stream_exceptions_become_error_events() {
        let (frame, kind) = stream_exception("throttlingException", br#"{"message":"slow down"}"#);
        assert_eq!(kind, "rate_limit_error");
        let text = String::from_utf8_lossy(&frame);
        assert!(text.starts_with("data: {"), "{text}");
        assert!(text.contains("bedrock: slow down"), "{text}");
    }
}
