//! Gemini's errors in OpenAI's classes.
//!
//! Google's envelope is `{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}`;
//! the shared parser keeps its message and HTTP status, this module adds
//! what the router acts on: context-length and content-policy codes.

use crate::providers::error::{ErrorAnswer, ProviderError};
use crate::providers::exchange::{Target, openai_error};
use http::StatusCode;

const PROVIDER: &str = "gemini";

/// Google's wording when the prompt is over the model's input limit
/// ("The input token count (…) exceeds the maximum number of tokens allowed (…)").
const CONTEXT_MARKERS: &[&str] = &[
    "exceeds the maximum number of tokens",
    "input token count",
    "context length",
];

/// An error answer: the shared reading, then [`classify`].
pub fn decode(target: &Target<'_>, answer: &ErrorAnswer) -> ProviderError {
    classify(openai_error(target, answer))
}

/// Marks context-length errors so `context_window_fallbacks` can apply.
pub fn classify(mut error: ProviderError) -> ProviderError {
    let lower = error.message.to_ascii_lowercase();
    if error.status == StatusCode::BAD_REQUEST && CONTEXT_MARKERS.iter().any(|m| lower.contains(m))
    {
        error.kind = "invalid_request_error".into();
        error.code = Some("context_length_exceeded".into());
    }
    error
}

/// `promptFeedback.blockReason` with no candidate: Gemini refused the prompt.
pub fn blocked_prompt(reason: &str) -> ProviderError {
    ProviderError {
        status: StatusCode::BAD_REQUEST,
        message: format!(
            "{PROVIDER}: the prompt was blocked by the provider's safety filters (blockReason: {reason})"
        ),
        kind: "invalid_request_error".into(),
        param: None,
        code: Some("content_policy_violation".into()),
        retry_after: None,
    }
}

/// A response body that is not the JSON Gemini promised.
pub fn malformed(detail: &str) -> ProviderError {
    ProviderError::bad_gateway(format!(
        "{PROVIDER}: unexpected response from the provider: {detail}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_length_wording_is_recognised() {
        let e = classify(ProviderError {
            status: StatusCode::BAD_REQUEST,
            message: "gemini: The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).".into(),
            kind: "invalid_request_error".into(),
            param: None,
            code: Some("400".into()),
            retry_after: None,
        });
        assert_eq!(e.code.as_deref(), Some("context_length_exceeded"));
    }
}
