//! Ollama's errors in OpenAI's classes.
//!
//! Ollama answers `{"error":"…"}` with a meaningful HTTP status (404 for a
//! model that is not pulled); the shared parser keeps both, this module
//! marks context-length errors so `context_window_fallbacks` can apply.

use crate::providers::error::{ErrorAnswer, ProviderError};
use crate::providers::exchange::{Target, openai_error};
use http::StatusCode;

const PROVIDER: &str = "ollama";

/// Ollama's wordings ("the input length exceeds the context length", …).
const CONTEXT_MARKERS: &[&str] = &["context length", "context window", "context size"];

/// An error answer: the shared reading, then [`classify`].
pub fn decode(target: &Target<'_>, answer: &ErrorAnswer) -> ProviderError {
    classify(openai_error(target, answer))
}

pub fn classify(mut error: ProviderError) -> ProviderError {
    let lower = error.message.to_ascii_lowercase();
    // Ollama reports some of these as 500s: the wording decides.
    if CONTEXT_MARKERS.iter().any(|m| lower.contains(m)) {
        error.status = StatusCode::BAD_REQUEST;
        error.kind = "invalid_request_error".into();
        error.code = Some("context_length_exceeded".into());
    }
    error
}

/// A body that is not the JSON Ollama promised, or an error mid-stream.
pub fn upstream(detail: &str) -> ProviderError {
    classify(ProviderError::bad_gateway(format!("{PROVIDER}: {detail}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_length_wording_is_recognised() {
        let e = classify(ProviderError {
            status: StatusCode::BAD_REQUEST,
            message: "ollama: the input length exceeds the context length".into(),
            kind: "invalid_request_error".into(),
            param: None,
            code: Some("400".into()),
            retry_after: None,
        });
        assert_eq!(e.code.as_deref(), Some("context_length_exceeded"));
    }
}
