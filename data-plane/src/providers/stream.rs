//! Relaying an upstream SSE stream to the client, chunk by chunk, while
//! accounting for what it carried.

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;

/// Token usage as OpenAI reports it.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

/// Observes a stream as it passes. Implementors record usage when dropped,
/// so a client that disconnects mid-stream is still accounted for.
pub trait StreamAccounting: Send + 'static {
    fn first_chunk(&mut self);
    fn usage(&mut self, usage: Usage);
    fn completed(&mut self);
    fn failed(&mut self, error_type: &str);
}

/// Re-emits each `data:` event of an OpenAI-format SSE response as it
/// arrives. A broken upstream ends the stream with an error event (never a
/// silent hang or a truncated success).
pub fn relay_sse<A: StreamAccounting>(
    body: hyper::body::Incoming,
    mut accounting: A,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        let mut events = http_body_util::BodyDataStream::new(body).eventsource();
        let mut first = true;
        let mut done = false;
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    if event.data == "[DONE]" {
                        done = true;
                        yield Ok(Bytes::from_static(b"data: [DONE]\n\n"));
                        break;
                    }
                    if first {
                        accounting.first_chunk();
                        first = false;
                    }
                    if let Some(usage) = usage_of(&event.data) {
                        accounting.usage(usage);
                    }
                    let mut out = Vec::with_capacity(event.data.len() + 8);
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(event.data.as_bytes());
                    out.extend_from_slice(b"\n\n");
                    yield Ok(Bytes::from(out));
                }
                Err(e) => {
                    accounting.failed("api_connection_error");
                    yield Ok(error_event(&format!("the provider's stream broke: {e}"), "api_connection_error"));
                    return;
                }
            }
        }
        if done {
            accounting.completed();
        } else {
            // Some OpenAI-compatible servers end without [DONE]; the body
            // ended cleanly, so the client gets a proper terminator.
            accounting.completed();
            yield Ok(Bytes::from_static(b"data: [DONE]\n\n"));
        }
    }
}

/// Parses `usage` only from chunks that can carry it; most chunks skip the
/// JSON parse entirely.
fn usage_of(data: &str) -> Option<Usage> {
    if !data.contains("\"usage\"") {
        return None;
    }
    #[derive(Deserialize)]
    struct Chunk {
        usage: Option<Usage>,
    }
    serde_json::from_str::<Chunk>(data).ok()?.usage
}

/// An error as an SSE event in OpenAI's error shape.
pub fn error_event(message: &str, kind: &str) -> Bytes {
    let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": "500"}});
    Bytes::from(format!("data: {body}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_read_only_where_present() {
        assert_eq!(
            usage_of(r#"{"choices":[{"delta":{"content":"hi"}}]}"#),
            None
        );
        assert_eq!(usage_of(r#"{"choices":[],"usage":null}"#), None);
        assert_eq!(
            usage_of(
                r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#
            ),
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 5
            })
        );
    }
}
