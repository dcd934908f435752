//! The three calls the router routes, each ready for any deployment:
//! chat completions, text completions and embeddings.

use super::operation::Operation;
use super::timeouts::Timeouts;
use crate::providers::embeddings::{EmbeddingCall, EmbeddingInput, EmbeddingOutput, Encoding};
use crate::providers::{
    ChatCall, ChatOutput, CompletionCall, HttpClient, ProviderError, StreamEvent,
};
use crate::runtime::Deployment;
use crate::usage::tokenizer::{self, Encoding as TokenEncoding};
use futures::StreamExt;
use http::StatusCode;
use serde_json::{Map, Value};

/// `POST /v1/chat/completions`.
pub struct Chat<'a> {
    pub client: &'a HttpClient,
    /// What a wildcard group's `*` matched in the requested model.
    pub wildcard: Option<&'a str>,
    /// The client's body (model = the group asked for).
    pub body: Map<String, Value>,
    pub stream: bool,
    pub include_usage: bool,
    pub request_id: &'a str,
}

impl Operation for Chat<'_> {
    type Output = ChatOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<ChatOutput, ProviderError> {
        // The deployment's `extra_headers` go out with each of its calls.
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        let call = ChatCall {
            client: &client,
            body: body_for(&self.body, deployment, self.wildcard),
            stream: self.stream,
            include_usage: self.include_usage,
            timeout: timeouts.total,
            stream_timeout: timeouts.first_chunk,
            drop_params: deployment.drop_params,
            request_id: self.request_id,
            model_group: &deployment.model_name,
        };
        first_chunk(deployment, timeouts, deployment.upstream.chat(call).await?).await
    }

    fn prompt_tokens(&self, encoding: TokenEncoding) -> u64 {
        match self.body.get("messages") {
            Some(Value::Array(messages)) => tokenizer::chat_prompt_tokens(encoding, messages),
            _ => 0,
        }
    }
}

/// `POST /v1/completions` (the legacy text-completion API).
pub struct Completion<'a> {
    pub client: &'a HttpClient,
    pub wildcard: Option<&'a str>,
    pub body: Map<String, Value>,
    pub stream: bool,
}

impl Operation for Completion<'_> {
    type Output = ChatOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<ChatOutput, ProviderError> {
        // The deployment's `extra_headers` go out with each of its calls.
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        let call = CompletionCall {
            client: &client,
            body: body_for(&self.body, deployment, self.wildcard),
            stream: self.stream,
            timeout: timeouts.total,
            stream_timeout: timeouts.first_chunk,
            model_group: &deployment.model_name,
        };
        first_chunk(
            deployment,
            timeouts,
            deployment.upstream.completions(call).await?,
        )
        .await
    }

    fn operation_name(&self) -> &'static str {
        "text_completion"
    }

    fn prompt_tokens(&self, encoding: TokenEncoding) -> u64 {
        self.body
            .get("prompt")
            .map_or(0, |prompt| tokenizer::text_prompt_tokens(encoding, prompt))
    }
}

/// `POST /v1/embeddings`.
pub struct Embedding<'a> {
    pub client: &'a HttpClient,
    pub wildcard: Option<&'a str>,
    pub body: Map<String, Value>,
    pub inputs: Vec<EmbeddingInput>,
    pub encoding: Encoding,
    pub dimensions: Option<u32>,
}

impl Operation for Embedding<'_> {
    type Output = EmbeddingOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<EmbeddingOutput, ProviderError> {
        // The deployment's `extra_headers` go out with each of its calls.
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        let call = EmbeddingCall {
            client: &client,
            body: body_for(&self.body, deployment, self.wildcard),
            inputs: self.inputs.clone(),
            encoding: self.encoding,
            dimensions: self.dimensions,
            timeout: timeouts.total,
            model_group: &deployment.model_name,
        };
        deployment.upstream.embeddings(call).await
    }

    fn operation_name(&self) -> &'static str {
        "embeddings"
    }

    fn prompt_tokens(&self, encoding: TokenEncoding) -> u64 {
        self.inputs
            .iter()
            .map(|input| match input {
                EmbeddingInput::Text(text) => encoding.count(text),
                EmbeddingInput::Tokens(ids) => ids.len() as u64,
            })
            .sum()
    }
}

/// The body a deployment receives: its model name, none of LiteLLM's own
/// settings (the one list, `tollgate_shared::config::settings`), its
/// default parameters where the request set none.
fn body_for(
    body: &Map<String, Value>,
    deployment: &Deployment,
    wildcard: Option<&str>,
) -> Map<String, Value> {
    let mut body = body.clone();
    let model = match wildcard {
        Some(matched) if deployment.upstream_model.contains('*') => {
            deployment.upstream_model.replacen('*', matched, 1)
        }
        _ => deployment.upstream_model.clone(),
    };
    body.insert("model".into(), Value::String(model));
    tollgate_shared::config::settings::strip(&mut body);
    for (key, value) in &deployment.default_params {
        body.entry(key.clone()).or_insert_with(|| value.clone());
    }
    body
}

/// A stream is not accepted until its first event arrived within the
/// attempt's `stream_timeout`.
async fn first_chunk(
    deployment: &Deployment,
    timeouts: Timeouts,
    output: ChatOutput,
) -> Result<ChatOutput, ProviderError> {
    let ChatOutput::Stream(mut chunks) = output else {
        return Ok(output);
    };
    let first = tokio::time::timeout(timeouts.first_chunk, chunks.next())
        .await
        .map_err(|_| ProviderError::timeout(deployment.provider, timeouts.first_chunk))?;
    match first {
        Some(StreamEvent::Error { .. }) | None => Err(ProviderError {
            status: StatusCode::BAD_GATEWAY,
            message: format!(
                "{}: the stream ended before its first chunk",
                deployment.provider
            ),
            kind: "api_connection_error".into(),
            param: None,
            code: Some("502".into()),
            retry_after: None,
        }),
        Some(event) => Ok(ChatOutput::Stream(Box::pin(
            futures::stream::iter([event]).chain(chunks),
        ))),
    }
}
