//! Providers: how a deployment's requests reach an LLM.
//!
//! [`Upstream`] is decided once per deployment when a snapshot is applied
//! (URLs joined, auth headers built), so the request path only sends.

pub mod chat;
mod client;
mod error;
mod mock;
mod openai;
pub mod stream;

pub use chat::{ChatCall, ChatOutput, ChunkStream, StreamEvent};
pub use client::{ClientError, HttpClient};
pub use error::ProviderError;
pub use mock::MockUpstream;
pub use openai::OpenAiUpstream;
pub use stream::{StreamAccounting, sse_body};

use tollgate_shared::provider::ProviderKind;
use tollgate_shared::snapshot::Deployment;

#[derive(Debug)]
pub enum Upstream {
    /// `litellm_params.mock_response`: answered in-process.
    Mock(MockUpstream),
    /// OpenAI's wire format (OpenAI and every OpenAI-compatible server).
    OpenAi(OpenAiUpstream),
    /// A provider whose translation is not built yet.
    Unsupported(ProviderKind),
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("deployment {id}: api_key contains characters not allowed in an HTTP header")]
    InvalidApiKey { id: String },
    #[error("deployment {id}: {field} contains characters not allowed in an HTTP header")]
    InvalidHeader { id: String, field: &'static str },
    #[error("deployment {id}: `{api_base}` is not a valid URL")]
    InvalidApiBase { id: String, api_base: String },
    #[error("deployment {id}: provider {provider} needs `api_base`")]
    MissingApiBase { id: String, provider: &'static str },
}

impl Upstream {
    pub fn build(deployment: &Deployment) -> Result<Upstream, BuildError> {
        if let Some(text) = &deployment.params.mock_response {
            return Ok(Upstream::Mock(MockUpstream::new(text.clone())));
        }
        match deployment.provider {
            ProviderKind::Openai
            | ProviderKind::OpenaiCompatible
            | ProviderKind::Groq
            | ProviderKind::Mistral
            | ProviderKind::Deepseek
            | ProviderKind::TogetherAi
            | ProviderKind::Openrouter
            | ProviderKind::HostedVllm => Ok(Upstream::OpenAi(OpenAiUpstream::new(deployment)?)),
            other => Ok(Upstream::Unsupported(other)),
        }
    }

    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        match self {
            Upstream::Mock(mock) => Ok(mock.chat(&call)),
            Upstream::OpenAi(upstream) => upstream.chat(call).await,
            Upstream::Unsupported(kind) => Err(ProviderError::unsupported(kind.as_str())),
        }
    }

    /// For logs, usage records and `x-litellm-model-api-base`.
    pub fn api_base(&self) -> &str {
        match self {
            Upstream::OpenAi(u) => u.api_base(),
            Upstream::Mock(_) | Upstream::Unsupported(_) => "",
        }
    }
}
