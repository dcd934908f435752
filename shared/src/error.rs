//! OpenAI's error envelope: `{"error":{"message","type","param","code"}}`.
//!
//! Every error a client of Tollgate sees has this shape. Following LiteLLM,
//! `code` is the HTTP status as a string unless a more specific machine code
//! exists (`context_length_exceeded`, `model_not_found`, …), because SDKs and
//! LiteLLM's own clients read both.

use serde::{Deserialize, Serialize};

/// An error and its causes, `: `-separated. Transport errors (tonic,
/// hyper) say only "transport error" at the top and keep the cause in their
/// source chain; operators need the cause.
pub fn display_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

impl ErrorEnvelope {
    pub fn new(message: impl Into<String>, kind: impl Into<String>, status: u16) -> Self {
        Self {
            error: ErrorBody {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: Some(status.to_string()),
            },
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }
}
