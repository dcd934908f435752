//! Anthropic's SSE framing (`event: <type>` + `data: <json>`, no
//! terminator: `message_stop` is the last event) and the client-facing
//! body, which reads the usage every stream reports in Anthropic's own
//! fields (`message_start`, then `message_delta`) into the request's
//! accounting as it passes.

use crate::providers::AnthropicUsage;
use crate::providers::{ChunkStream, StreamAccounting, StreamEvent};
use crate::usage::Accounting;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;
use std::convert::Infallible;

/// One event, framed.
pub fn frame(event: &Value) -> Bytes {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    Bytes::from(format!("event: {kind}\ndata: {event}\n\n"))
}

/// The usage an Anthropic event carries, if any.
pub fn usage_in_event(data: &[u8]) -> Option<AnthropicUsage> {
    if !data.windows(7).any(|w| w == b"\"usage\"") {
        return None;
    }
    let event: Value = serde_json::from_slice(data).ok()?;
    let usage = match event.get("type").and_then(Value::as_str)? {
        "message_start" => event.get("message")?.get("usage")?,
        "message_delta" => event.get("usage")?,
        _ => return None,
    };
    serde_json::from_value(usage.clone()).ok()
}

/// The `data:` payload of a framed event.
fn data_of(frame: &[u8]) -> &[u8] {
    let Some(start) = frame.windows(6).position(|w| w == b"data: ") else {
        return &[];
    };
    let rest = &frame[start + 6..];
    let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    &rest[..end]
}

/// The client's SSE body: every event as it arrives; the usage of
/// `message_start` and `message_delta` into accounting (cache reads and
/// writes included); a broken stream ends with its `error` event.
pub fn body(
    mut chunks: ChunkStream,
    mut accounting: Accounting,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        let mut first = true;
        let mut usage = AnthropicUsage::default();
        while let Some(event) = chunks.next().await {
            match event {
                StreamEvent::Data { frame, .. } => {
                    if first {
                        accounting.first_chunk();
                        first = false;
                    }
                    if let Some(reported) = usage_in_event(data_of(&frame)) {
                        usage.merge(reported);
                        accounting.usage(usage.usage());
                        accounting.set_cache_creation(usage.cache_creation_input_tokens.unwrap_or(0));
                    }
                    if !frame.is_empty() {
                        accounting.relayed(&frame);
                        yield Ok(frame);
                    }
                }
                StreamEvent::Error { frame, error_type } => {
                    accounting.failed(error_type);
                    yield Ok(frame);
                    return;
                }
            }
        }
        accounting.completed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_is_read_from_start_and_delta_events() {
        let start = frame(
            &json!({"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 2}}}),
        );
        let delta =
            frame(&json!({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 9}}));
        let mut usage = AnthropicUsage::default();
        usage.merge(usage_in_event(data_of(&start)).expect("start usage"));
        usage.merge(usage_in_event(data_of(&delta)).expect("delta usage"));
        let total = usage.usage();
        assert_eq!(
            (
                total.prompt_tokens,
                total.completion_tokens,
                total.cached_tokens
            ),
            (10, 9, 2)
        );
        assert_eq!(usage.cache_creation_input_tokens, Some(3));
        let text = frame(
            &json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "usage"}}),
        );
        assert!(usage_in_event(data_of(&text)).is_none());
    }
}
