//! The client's SSE body on `/v1/responses`: Responses API events (named by
//! their `event:` line, no `[DONE]`), with accounting as chat streams have
//! it — usage from the provider when it sends any, else the tokenizer's
//! count of what was relayed, and a record even when the client leaves.

use super::bridge_stream::Translator;
use super::native::NativeIds;
use crate::providers::responses::{LIFECYCLE_EVENTS, frame};
use crate::providers::{ChunkStream, StreamAccounting, StreamEvent};
use crate::usage::Accounting;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Map, Value, json};
use std::convert::Infallible;

/// The message and code of an OpenAI-shaped error frame (`data: {"error":…}`).
fn error_of(frame: &[u8]) -> (String, String) {
    let data = frame.strip_prefix(b"data: ").unwrap_or(frame);
    let error = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v.get("error").cloned());
    let field = |key: &str| {
        error
            .as_ref()
            .and_then(|e| e.get(key))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
    };
    (
        field("message").unwrap_or_else(|| "the provider's stream broke".into()),
        field("code").unwrap_or_else(|| "server_error".into()),
    )
}

/// OpenAI's `error` event.
fn error_event(sequence: u64, code: &str, message: &str) -> Bytes {
    let data = json!({"type": "error", "code": code, "message": message, "param": null, "sequence_number": sequence});
    frame("error", &data.to_string())
}

/// Gives a finished bridged response its id.
pub type Seal = Box<dyn FnOnce(&Map<String, Value>) -> String + Send>;

/// A chat stream bridged into Responses events; `seal` gives the finished
/// response its id.
pub fn bridged_body(
    mut chunks: ChunkStream,
    mut accounting: Accounting,
    mut translator: Translator,
    seal: Seal,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        for f in translator.start() {
            yield Ok(f);
        }
        let mut first = true;
        let mut usage = None;
        while let Some(event) = chunks.next().await {
            match event {
                StreamEvent::Data { frame, usage: u } => {
                    if first {
                        accounting.first_chunk();
                        first = false;
                    }
                    if let Some(u) = u {
                        accounting.usage(u);
                        usage = Some(u);
                    }
                    if frame.is_empty() {
                        continue;
                    }
                    // The chat frame is what the tokenizer counts from.
                    accounting.relayed(&frame);
                    let Some(chunk) = frame
                        .strip_prefix(b"data: ")
                        .and_then(|d| serde_json::from_slice::<Value>(d).ok())
                    else {
                        continue;
                    };
                    for f in translator.push(&chunk) {
                        yield Ok(f);
                    }
                }
                StreamEvent::Error { frame, error_type } => {
                    accounting.failed(error_type);
                    let (message, code) = error_of(&frame);
                    yield Ok(translator.error(&code, &message));
                    yield Ok(translator.fail(&code, &message));
                    return;
                }
            }
        }
        accounting.completed();
        let usage = usage.or_else(|| accounting.counted_usage());
        for f in translator.finish(usage, seal) {
            yield Ok(f);
        }
    }
}

/// A native stream relayed as the provider sent it, the response's id
/// (and `previous_response_id`) in its lifecycle events replaced by ours.
pub fn native_body(
    mut chunks: ChunkStream,
    mut accounting: Accounting,
    mut ids: NativeIds,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        let mut first = true;
        let mut sequence = 0u64;
        while let Some(event) = chunks.next().await {
            match event {
                StreamEvent::Data { frame: raw, usage } => {
                    if first {
                        accounting.first_chunk();
                        first = false;
                    }
                    if let Some(u) = usage {
                        accounting.usage(u);
                    }
                    sequence += 1;
                    yield Ok(rewrite_frame(raw, &mut ids));
                }
                StreamEvent::Error { frame, error_type } => {
                    accounting.failed(error_type);
                    let (message, code) = error_of(&frame);
                    yield Ok(error_event(sequence, &code, &message));
                    return;
                }
            }
        }
        accounting.completed();
    }
}

/// The frame with its response's ids rewritten, when it is a lifecycle
/// event; every other frame is passed on untouched (no parse).
fn rewrite_frame(raw: Bytes, ids: &mut NativeIds) -> Bytes {
    let Some(rest) = raw.strip_prefix(b"event: ") else {
        return raw;
    };
    let Some(newline) = rest.iter().position(|b| *b == b'\n') else {
        return raw;
    };
    let Ok(name) = std::str::from_utf8(&rest[..newline]) else {
        return raw;
    };
    if !LIFECYCLE_EVENTS.contains(&name) {
        return raw;
    }
    let data = rest[newline + 1..]
        .strip_prefix(b"data: ")
        .map(|d| d.trim_ascii_end());
    let Some(Ok(Value::Object(mut event))) = data.map(serde_json::from_slice::<Value>) else {
        return raw;
    };
    if let Some(Value::Object(response)) = event.get_mut("response") {
        ids.rewrite(response);
    }
    frame(name, &Value::Object(event).to_string())
}
