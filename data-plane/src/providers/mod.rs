//! Providers: how a deployment's requests reach an LLM.
//!
//! [`Upstream`] is decided once per deployment when a snapshot is applied
//! (URLs joined, auth headers built), so the request path only sends.

mod anthropic;
mod azure;
mod bedrock;
pub mod chat;
mod chunk;
mod client;
mod completions;
pub mod embeddings;
mod error;
#[cfg(test)]
mod error_decoder_props;
mod exchange;
pub mod extras;
mod gemini;
mod lines;
mod mock;
mod model_field;
mod ollama;
mod openai;
pub mod relay;
pub mod responses;
pub mod sse;
pub mod stream;

pub use anthropic::native::{Endpoint as AnthropicEndpoint, NativeAnswer, NativeCall};
pub use anthropic::{AnthropicUpstream, AnthropicUsage};
pub use bedrock::BedrockUpstream;
/// AWS event-stream framing, which Bedrock pass-through streams are read in.
pub use bedrock::eventstream;
pub use chat::{ChatCall, ChatOutput, ChunkStream, StreamEvent};
pub use client::{ClientError, HttpClient, RequestBody};
pub use completions::CompletionCall;
pub use error::{ErrorAnswer, ProviderError};
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
    /// Google AI Studio's Gemini API (`gemini/`).
    Gemini(gemini::GeminiUpstream),
    /// Ollama's native `/api/chat` (`ollama/`, `ollama_chat/`).
    Ollama(ollama::OllamaUpstream),
    /// Anthropic's Messages API (`anthropic/`).
    Anthropic(anthropic::AnthropicUpstream),
    /// Azure OpenAI (`azure/`).
    Azure(azure::AzureUpstream),
    /// AWS Bedrock's Converse API (`bedrock/`), SigV4-signed.
    Bedrock(bedrock::BedrockUpstream),
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

/// A credential as a header value that never prints (`Debug` shows it as
/// sensitive), or the build error naming the deployment.
pub(crate) fn secret_header(
    value: &str,
    deployment_id: &str,
) -> Result<http::HeaderValue, BuildError> {
    let mut header = http::HeaderValue::try_from(value).map_err(|_| BuildError::InvalidApiKey {
        id: deployment_id.to_string(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The deployment's `api_key`, else the environment variable `env` where
/// the provider has one (LiteLLM's fallback); empty counts as none.
pub(crate) fn api_key(deployment: &Deployment, env: Option<&str>) -> Option<String> {
    deployment
        .params
        .api_key
        .as_ref()
        .map(|k| k.expose().to_string())
        .or_else(|| env.and_then(|name| std::env::var(name).ok()))
        .filter(|k| !k.is_empty())
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
            ProviderKind::Gemini => Ok(Upstream::Gemini(gemini::GeminiUpstream::new(deployment)?)),
            ProviderKind::Ollama | ProviderKind::OllamaChat => {
                Ok(Upstream::Ollama(ollama::OllamaUpstream::new(deployment)?))
            }
            ProviderKind::Anthropic => Ok(Upstream::Anthropic(anthropic::AnthropicUpstream::new(
                deployment,
            )?)),
            ProviderKind::Azure => Ok(Upstream::Azure(azure::AzureUpstream::new(deployment)?)),
            ProviderKind::Bedrock => Ok(Upstream::Bedrock(bedrock::BedrockUpstream::new(
                deployment,
            )?)),
            // Every prefix has a translation today; kept for the next one.
            #[allow(unreachable_patterns)]
            other => Ok(Upstream::Unsupported(other)),
        }
    }

    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        match self {
            Upstream::Mock(mock) => Ok(mock.chat(&call)),
            Upstream::OpenAi(upstream) => upstream.chat(call).await,
            Upstream::Gemini(upstream) => upstream.chat(call).await,
            Upstream::Ollama(upstream) => upstream.chat(call).await,
            Upstream::Anthropic(upstream) => upstream.chat(call).await,
            Upstream::Azure(upstream) => upstream.chat(call).await,
            Upstream::Bedrock(upstream) => upstream.chat(call).await,
            Upstream::Unsupported(kind) => Err(ProviderError::unsupported(kind.as_str())),
        }
    }

    /// Anthropic's own API, for the gateway's `/v1/messages` (relayed, not
    /// translated).
    pub fn anthropic(&self) -> Option<&AnthropicUpstream> {
        match self {
            Upstream::Anthropic(upstream) => Some(upstream),
            _ => None,
        }
    }

    /// Bedrock's runtime API, for the gateway's `/bedrock/*` pass-through
    /// (requests signed with the deployment's credentials).
    pub fn bedrock(&self) -> Option<&bedrock::BedrockUpstream> {
        match self {
            Upstream::Bedrock(upstream) => Some(upstream),
            _ => None,
        }
    }

    /// For logs, usage records and `x-litellm-model-api-base`.
    pub fn api_base(&self) -> &str {
        match self {
            Upstream::OpenAi(u) => u.api_base(),
            Upstream::Gemini(u) => u.api_base(),
            Upstream::Ollama(u) => u.api_base(),
            Upstream::Anthropic(u) => u.api_base(),
            Upstream::Azure(u) => u.api_base(),
            Upstream::Bedrock(u) => u.api_base(),
            Upstream::Mock(_) | Upstream::Unsupported(_) => "",
        }
    }
}
