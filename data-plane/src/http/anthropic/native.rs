//! Anthropic deployments serve `/v1/messages` natively: the client's body
//! (model rewritten, LiteLLM's settings removed) goes to Anthropic as it
//! is, and the answer — a message, or the event stream as Anthropic sends
//! it — comes back untranslated, its usage read on the way.

use super::error::error_event;
use crate::providers::{
    AnthropicEndpoint, AnthropicUsage, ChatOutput, ChunkStream, HttpClient, NativeAnswer,
    NativeCall, ProviderError, StreamEvent,
};
use crate::runtime::Deployment;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// Top-level fields Anthropic's API accepts: a deployment's default
/// parameters outside this list (OpenAI-only ones) are not added.
const MESSAGES_FIELDS: &[&str] = &[
    "max_tokens",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
];

/// The body an Anthropic deployment receives: its model, none of
/// LiteLLM's settings, its default parameters where the request set none,
/// and `metadata` reduced to Anthropic's `user_id`.
pub fn body_for(
    body: &Map<String, Value>,
    deployment: &Deployment,
    wildcard: Option<&str>,
) -> Map<String, Value> {
    let mut out = body.clone();
    let model = match wildcard {
        Some(matched) if deployment.upstream_model.contains('*') => {
            deployment.upstream_model.replacen('*', matched, 1)
        }
        _ => deployment.upstream_model.clone(),
    };
    out.insert("model".into(), Value::String(model));
    let user = body
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .cloned()
        .filter(Value::is_string);
    tollgate_shared::config::settings::strip(&mut out);
    if let Some(user) = user {
        let mut metadata = Map::new();
        metadata.insert("user_id".into(), user);
        out.insert("metadata".into(), Value::Object(metadata));
    }
    for (key, value) in &deployment.default_params {
        if MESSAGES_FIELDS.contains(&key.as_str()) {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    out
}

/// One native call to `deployment`.
pub async fn call(
    client: &HttpClient,
    deployment: &Deployment,
    endpoint: AnthropicEndpoint,
    body: Map<String, Value>,
    headers: &[(HeaderName, HeaderValue)],
    stream: bool,
    timeouts: crate::router::Timeouts,
) -> Result<ChatOutput, ProviderError> {
    let Some(upstream) = deployment.upstream.anthropic() else {
        return Err(ProviderError::unsupported(deployment.provider));
    };
    let client = client.with_extra_headers(deployment.extra_headers.as_ref());
    let body = serde_json::to_vec(&body).map_err(|e| ProviderError::internal("anthropic", &e))?;
    let answer = upstream
        .native(NativeCall {
            client: &client,
            endpoint,
            body,
            headers,
            stream,
            timeout: timeouts.total,
            stream_timeout: timeouts.first_chunk,
        })
        .await?;
    match answer {
        NativeAnswer::Whole(bytes) => {
            let usage = message_usage(&bytes);
            Ok(ChatOutput::Complete {
                body: bytes,
                usage: usage.usage(),
            })
        }
        NativeAnswer::Stream(body) => {
            let events = events(http_body_util::BodyDataStream::new(body));
            first_event(deployment, timeouts.first_chunk, events).await
        }
    }
}

/// The `usage` of a whole message.
pub fn message_usage(body: &[u8]) -> AnthropicUsage {
    #[derive(serde::Deserialize)]
    struct Message {
        #[serde(default)]
        usage: AnthropicUsage,
    }
    serde_json::from_slice::<Message>(body)
        .map(|m| m.usage)
        .unwrap_or_default()
}

/// Anthropic's SSE as events, each relayed as sent (`event:` + `data:`);
/// `message_delta` carries the usage so far for the router's meter. An
/// `error` event ends the stream as an error.
pub fn events<S, E>(bytes: S) -> ChunkStream
where
    S: futures::Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    Box::pin(async_stream::stream! {
        let mut events = std::pin::pin!(crate::providers::sse::parse(bytes));
        let mut usage = AnthropicUsage::default();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    let frame = Bytes::from(format!("event: {}\ndata: {}\n\n", event.event, event.data));
                    if event.event == "error" {
                        yield StreamEvent::Error { frame, error_type: "api_error" };
                        return;
                    }
                    let reported = super::sse::usage_in_event(event.data.as_bytes());
                    let is_delta = event.event == "message_delta";
                    if let Some(reported) = reported {
                        usage.merge(reported);
                    }
                    yield StreamEvent::Data { frame, usage: is_delta.then(|| usage.usage()) };
                }
                Err(e) => {
                    yield StreamEvent::Error {
                        frame: error_event("api_error", &format!("the provider's stream broke: {e}")),
                        error_type: "api_connection_error",
                    };
                    return;
                }
            }
        }
    })
}

/// A stream is accepted once its first event arrived within the
/// deployment's `stream_timeout`; one that fails first is a failed attempt
/// (retried, or fallen back from).
async fn first_event(
    deployment: &Deployment,
    within: std::time::Duration,
    mut events: ChunkStream,
) -> Result<ChatOutput, ProviderError> {
    let first = tokio::time::timeout(within, events.next())
        .await
        .map_err(|_| ProviderError::timeout(deployment.provider, within))?;
    match first {
        Some(StreamEvent::Data { frame, usage }) => Ok(ChatOutput::Stream(Box::pin(
            futures::stream::iter([StreamEvent::Data { frame, usage }]).chain(events),
        ))),
        _ => Err(ProviderError::bad_gateway(format!(
            "{}: the stream ended before its first event",
            deployment.provider
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_relayed_as_sent_with_usage_on_message_delta() {
        let sse = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4,\"output_tokens\":1,\"cache_read_input_tokens\":2}}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let out = futures::executor::block_on(
            events(futures::stream::iter([Ok::<_, std::convert::Infallible>(
                Bytes::from(sse),
            )]))
            .collect::<Vec<_>>(),
        );
        let frames: Vec<(String, Option<crate::providers::stream::Usage>)> = out
            .into_iter()
            .map(|e| match e {
                StreamEvent::Data { frame, usage } => {
                    (String::from_utf8_lossy(&frame).into_owned(), usage)
                }
                StreamEvent::Error { .. } => panic!("no error"),
            })
            .collect();
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[1].0, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
        let usage = frames[2].1.expect("usage on message_delta");
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens
            ),
            (6, 7, 2)
        );
        assert!(frames[0].1.is_none() && frames[3].1.is_none());
    }
}
