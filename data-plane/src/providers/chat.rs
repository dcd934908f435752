//! The contract between the request path and every provider.
//!
//! The request path hands a provider an OpenAI-format chat request; the
//! provider answers with an OpenAI-format `chat.completion` body or a stream
//! of OpenAI-format `chat.completion.chunk` events. Translation to and from
//! the provider's own wire format stays inside the provider's module, so a
//! new provider never touches the request path (and the same translators can
//! serve an Anthropic-format front end later).

use super::client::HttpClient;
use super::error::ProviderError;
use super::stream::{Usage, error_event, provider_error_event};
use bytes::Bytes;
use futures::Stream;
use serde_json::{Map, Value};
use std::pin::Pin;
use std::time::Duration;

/// One chat request, validated, ready for a provider.
pub struct ChatCall<'a> {
    pub client: &'a HttpClient,
    /// OpenAI request body. `model` is already the provider's model name,
    /// gateway-only parameters are removed, deployment defaults applied.
    pub body: Map<String, Value>,
    pub stream: bool,
    /// The client asked for `stream_options.include_usage`.
    pub include_usage: bool,
    /// Whole non-streamed exchange.
    pub timeout: Duration,
    /// Up to the first chunk of a stream.
    pub stream_timeout: Duration,
    /// Drop parameters the provider does not support instead of failing.
    pub drop_params: bool,
    /// The gateway's request id (`chatcmpl-<id>` where a provider has none).
    pub request_id: &'a str,
    /// The model group the client asked for (the `model` of responses a
    /// provider synthesises).
    pub model_group: &'a str,
}

pub enum ChatOutput {
    /// An OpenAI `chat.completion` JSON body and the usage it reports.
    Complete { body: Bytes, usage: Usage },
    /// OpenAI `chat.completion.chunk` events, as they arrive.
    Stream(ChunkStream),
}

/// The assistant message of a translated answer, in OpenAI's shape:
/// `content` is null when the answer is only tool calls.
pub fn assistant_message(
    text: String,
    tool_calls: Vec<Value>,
    reasoning: Option<String>,
) -> Map<String, Value> {
    let mut message = Map::new();
    message.insert("role".into(), Value::String("assistant".into()));
    let content = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    message.insert("content".into(), content);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if let Some(reasoning) = reasoning {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    message
}

pub type ChunkStream = Pin<Box<dyn Stream<Item = StreamEvent> + Send>>;

pub enum StreamEvent {
    /// One complete SSE frame (`data: {...}\n\n`), with the usage it
    /// carries, if any.
    Data { frame: Bytes, usage: Option<Usage> },
    /// The provider's stream broke: this frame (an OpenAI error object) is
    /// the last thing the client receives.
    Error {
        frame: Bytes,
        error_type: &'static str,
    },
}

impl StreamEvent {
    /// Frames an OpenAI chunk object.
    pub fn chunk(chunk: &Value, usage: Option<Usage>) -> Self {
        StreamEvent::Data {
            frame: Bytes::from(format!("data: {chunk}\n\n")),
            usage,
        }
    }

    /// Ends a stream with an error frame of this kind (OpenAI's error shape).
    pub fn failure(message: &str, kind: &'static str) -> Self {
        StreamEvent::Error {
            frame: error_event(message, kind),
            error_type: kind,
        }
    }

    /// Ends a stream with an error the provider's translator raised, its
    /// machine code kept where the router acts on it.
    pub fn provider_error(e: &ProviderError) -> Self {
        let error_type: &'static str = match e.code.as_deref() {
            Some("content_policy_violation") => "content_policy_violation",
            Some("context_length_exceeded") => "context_length_exceeded",
            _ => "api_error",
        };
        StreamEvent::Error {
            frame: provider_error_event(e),
            error_type,
        }
    }
}
