//! Legacy text completions (`/v1/completions`): only OpenAI-format servers
//! have the endpoint, so the request is forwarded as is and the answer (JSON
//! or SSE) relayed with only its `model` set to the group asked for.

use super::Upstream;
use super::chat::ChatOutput;
use super::client::HttpClient;
use super::error::ProviderError;
use super::exchange::{send_json, send_streaming};
use super::stream::{openai_events_keeping_usage_chunk, usage_in_body};
use serde_json::{Map, Value};
use std::time::Duration;

/// One legacy completion request, ready for a provider.
pub struct CompletionCall<'a> {
    pub client: &'a HttpClient,
    /// OpenAI request body, `model` already the provider's name.
    pub body: Map<String, Value>,
    pub stream: bool,
    pub timeout: Duration,
    pub stream_timeout: Duration,
    /// The group asked for: the answer's `model` (`model_field`).
    pub model_group: &'a str,
}

impl Upstream {
    /// Answers with a `text_completion` body or its SSE chunks.
    pub async fn completions(&self, call: CompletionCall<'_>) -> Result<ChatOutput, ProviderError> {
        let Upstream::OpenAi(upstream) = self else {
            return Err(no_endpoint(self.provider_name()));
        };
        let provider = upstream.provider();
        let body =
            serde_json::to_vec(&call.body).map_err(|e| ProviderError::internal(provider, &e))?;
        let request = upstream.post("/completions", body)?;
        let target = upstream.target();
        if call.stream {
            let response =
                send_streaming(call.client, request, &target, call.stream_timeout).await?;
            return Ok(ChatOutput::Stream(openai_events_keeping_usage_chunk(
                response.into_body(),
                true,
                Some(call.model_group.to_string()),
            )));
        }
        let body = send_json(call.client, request, &target, call.timeout).await?;
        let body = super::model_field::replace_model(&body, call.model_group)
            .map_or(body, bytes::Bytes::from);
        Ok(ChatOutput::Complete {
            usage: usage_in_body(&body),
            body,
        })
    }

    /// The provider's name for messages (`mock_response` deployments have none).
    pub fn provider_name(&self) -> &'static str {
        match self {
            Upstream::OpenAi(u) => u.provider(),
            Upstream::Mock(_) => "mock_response",
            Upstream::Gemini(_) => "gemini",
            Upstream::Anthropic(_) => "anthropic",
            Upstream::Azure(_) => "azure",
            Upstream::Ollama(_) => "ollama",
            Upstream::Bedrock(_) => "bedrock",
            Upstream::Unsupported(kind) => kind.as_str(),
        }
    }
}

fn no_endpoint(provider: &str) -> ProviderError {
    ProviderError::invalid_request(
        format!(
            "{provider} has no legacy text-completion endpoint; use /v1/chat/completions with this model"
        ),
        Some("model"),
    )
}
