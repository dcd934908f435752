//! `/v1/messages` as a routed call: whichever deployment the router picks,
//! an Anthropic one is called natively and any other through the chat
//! contract, its answer translated to Anthropic's shapes. So one model
//! group (and its fallbacks) may mix providers.

use super::{chat_stream, from_chat, native};
use crate::providers::stream::Usage;
use crate::providers::{AnthropicEndpoint, ChatOutput, HttpClient, ProviderError};
use crate::router::{self, Operation, Timeouts};
use crate::runtime::Deployment;
use crate::usage::tokenizer::{self, Completion, Encoding};
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

pub struct Messages<'a> {
    pub client: &'a HttpClient,
    pub wildcard: Option<&'a str>,
    pub endpoint: AnthropicEndpoint,
    /// The client's body (model = the group asked for).
    pub body: Map<String, Value>,
    /// The same request in OpenAI's shape, or why it has none.
    pub chat: Result<Map<String, Value>, String>,
    pub stream: bool,
    /// `anthropic-version` / `anthropic-beta` from the client.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub request_id: &'a str,
    /// The model the client asked for (the `model` of translated answers).
    pub model: &'a str,
}

impl Messages<'_> {
    fn translated(&self) -> Result<&Map<String, Value>, ProviderError> {
        self.chat
            .as_ref()
            .map_err(|message| ProviderError::invalid_request(message.clone(), None))
    }

    /// `count_tokens` for a provider without the endpoint: the tokenizer's
    /// count of the prompt as the provider would receive it.
    fn count_locally(&self, deployment: &Deployment) -> Result<ChatOutput, ProviderError> {
        let chat = self.translated()?;
        let encoding = Encoding::for_model(&deployment.upstream_model);
        let mut count = match chat.get("messages") {
            Some(Value::Array(messages)) => tokenizer::chat_prompt_tokens(encoding, messages),
            _ => 0,
        };
        if let Some(tools) = chat.get("tools") {
            count += encoding.count(&tools.to_string());
        }
        Ok(ChatOutput::Complete {
            body: Bytes::from(json!({"input_tokens": count}).to_string()),
            usage: Usage::default(),
        })
    }

    async fn call_translated(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<ChatOutput, ProviderError> {
        let chat = router::Chat {
            client: self.client,
            wildcard: self.wildcard,
            body: self.translated()?.clone(),
            stream: self.stream,
            include_usage: true,
            request_id: self.request_id,
        };
        match chat.call(deployment, timeouts).await? {
            ChatOutput::Complete { body, mut usage } => {
                if usage == Usage::default() {
                    // No usage from the provider: the tokenizer's count,
                    // shown and charged (as the chat route does).
                    usage = counted(&chat, deployment, &body);
                }
                let (message, _) =
                    from_chat::translate(&body, self.model, usage).ok_or_else(|| {
                        ProviderError::bad_gateway(format!(
                            "{}: the answer is not a chat completion",
                            deployment.provider
                        ))
                    })?;
                Ok(ChatOutput::Complete {
                    body: Bytes::from(message.to_string()),
                    usage,
                })
            }
            ChatOutput::Stream(chunks) => {
                let encoding = Encoding::for_model(&deployment.upstream_model);
                let prompt_tokens = chat.prompt_tokens(encoding);
                Ok(ChatOutput::Stream(chat_stream::translate(
                    chunks,
                    chat_stream::Context {
                        model: self.model.to_string(),
                        encoding,
                        prompt_tokens,
                    },
                )))
            }
        }
    }
}

/// The tokenizer's usage of a complete answer that reported none.
fn counted(chat: &router::Chat<'_>, deployment: &Deployment, body: &[u8]) -> Usage {
    let encoding = Encoding::for_model(&deployment.upstream_model);
    let mut completion = Completion::default();
    if let Ok(object) = serde_json::from_slice::<Value>(body) {
        if object.get("usage").is_some_and(Value::is_object) {
            // A zero usage the provider did send is the provider's.
            return Usage::default();
        }
        completion.add_object(&object);
    }
    Usage {
        prompt_tokens: chat.prompt_tokens(encoding),
        completion_tokens: completion.tokens(encoding),
        cached_tokens: 0,
    }
}

/// Top-level fields Anthropic's `count_tokens` accepts.
const COUNT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
];

impl Operation for Messages<'_> {
    type Output = ChatOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<ChatOutput, ProviderError> {
        if deployment.upstream.anthropic().is_some() {
            let mut body = native::body_for(&self.body, deployment, self.wildcard);
            if self.endpoint == AnthropicEndpoint::CountTokens {
                body.retain(|key, _| COUNT_FIELDS.contains(&key.as_str()));
            }
            return native::call(
                self.client,
                deployment,
                self.endpoint,
                body,
                &self.headers,
                self.stream && self.endpoint == AnthropicEndpoint::Messages,
                timeouts,
            )
            .await;
        }
        match self.endpoint {
            AnthropicEndpoint::CountTokens => self.count_locally(deployment),
            AnthropicEndpoint::Messages => self.call_translated(deployment, timeouts).await,
        }
    }

    fn prompt_tokens(&self, encoding: Encoding) -> u64 {
        match self.chat.as_ref().ok().and_then(|c| c.get("messages")) {
            Some(Value::Array(messages)) => tokenizer::chat_prompt_tokens(encoding, messages),
            _ => 0,
        }
    }
}
