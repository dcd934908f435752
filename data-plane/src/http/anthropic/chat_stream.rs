//! An OpenAI chunk stream → Anthropic's event stream, for deployments that
//! do not speak Anthropic's API: `message_start`, `ping`, then per content
//! block `content_block_start` / `_delta` / `_stop` (thinking, text, each
//! tool call), then `message_delta` with the stop reason and the usage,
//! and `message_stop`. A provider stream that breaks ends with an `error`
//! event. The usage rides on `message_delta`, which waits for the
//! provider's final usage chunk.

use super::error::{error_event, kind_for};
use super::from_chat::{anthropic_usage, cache_creation_of, message_id, stop_reason};
use super::sse::frame;
use crate::providers::stream::Usage;
use crate::providers::{ChunkStream, StreamEvent};
use crate::usage::tokenizer::{Completion, Encoding};
use axum::http::StatusCode;
use futures::StreamExt;
use serde_json::{Value, json};

/// What the translation needs besides the chunks.
pub struct Context {
    /// The model the client asked for.
    pub model: String,
    /// Counts the answer when the provider sends no usage.
    pub encoding: Encoding,
    /// The prompt's count by the same rule, for that case.
    pub prompt_tokens: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Thinking,
    Text,
    Tool(u64),
}

struct State {
    out: Vec<StreamEvent>,
    started: bool,
    open: Option<Block>,
    index: usize,
    stop_reason: &'static str,
    usage: Option<Usage>,
    cache_creation: u64,
    /// What was generated, counted only if no usage arrives.
    seen: Completion,
}

impl State {
    fn push(&mut self, event: &Value) {
        self.out.push(StreamEvent::Data {
            frame: frame(event),
            usage: None,
        });
    }

    fn start(&mut self, id: &str, model: &str) {
        if self.started {
            return;
        }
        self.started = true;
        self.push(&json!({"type": "message_start", "message": {
            "id": message_id(id), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }}));
        self.push(&json!({"type": "ping"}));
    }

    fn close(&mut self) {
        if self.open.take().is_some() {
            self.push(&json!({"type": "content_block_stop", "index": self.index}));
            self.index += 1;
        }
    }

    /// Opens `block` unless it is the one open; `start` is its
    /// `content_block`.
    fn open(&mut self, block: Block, start: Value) {
        if self.open == Some(block) {
            return;
        }
        self.close();
        self.open = Some(block);
        self.push(
            &json!({"type": "content_block_start", "index": self.index, "content_block": start}),
        );
    }

    fn delta(&mut self, delta: Value) {
        self.push(&json!({"type": "content_block_delta", "index": self.index, "delta": delta}));
    }

    fn chunk(&mut self, chunk: &Value, model: &str) {
        let id = chunk.get("id").and_then(Value::as_str).unwrap_or_default();
        self.start(id, model);
        if usage_present(chunk) && self.usage.is_none() {
            self.cache_creation = chunk.get("usage").map_or(0, cache_creation_of);
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return;
        };
        if self.usage.is_none() {
            self.seen.add_object(chunk);
        }
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        if let Some(thinking) = delta
            .get("reasoning_content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.open(Block::Thinking, json!({"type": "thinking", "thinking": ""}));
            self.delta(json!({"type": "thinking_delta", "thinking": thinking}));
        }
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.open(Block::Text, json!({"type": "text", "text": ""}));
            self.delta(json!({"type": "text_delta", "text": text}));
        }
        if let Some(Value::Array(calls)) = delta.get("tool_calls") {
            for call in calls {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let function = call.get("function").unwrap_or(&Value::Null);
                if self.open != Some(Block::Tool(index)) {
                    self.open(
                        Block::Tool(index),
                        json!({"type": "tool_use",
                               "id": call.get("id").cloned().unwrap_or_default(),
                               "name": function.get("name").cloned().unwrap_or_default(),
                               "input": {}}),
                    );
                }
                if let Some(arguments) = function
                    .get("arguments")
                    .and_then(Value::as_str)
                    .filter(|a| !a.is_empty())
                {
                    self.delta(json!({"type": "input_json_delta", "partial_json": arguments}));
                }
            }
        }
        if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
            self.stop_reason = stop_reason(finish);
            self.close();
        }
    }

    fn finish(&mut self, ctx: &Context) {
        self.start("", &ctx.model);
        self.close();
        let usage = self.usage.unwrap_or_else(|| Usage {
            prompt_tokens: ctx.prompt_tokens,
            completion_tokens: self.seen.tokens(ctx.encoding),
            cached_tokens: 0,
        });
        let event = json!({"type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": null},
            "usage": anthropic_usage(usage, self.cache_creation)});
        self.out.push(StreamEvent::Data {
            frame: frame(&event),
            usage: Some(usage),
        });
        self.push(&json!({"type": "message_stop"}));
    }
}

fn usage_present(chunk: &Value) -> bool {
    chunk.get("usage").is_some_and(Value::is_object)
}

/// The chunk objects in one OpenAI SSE frame.
fn objects(frame: &[u8]) -> Vec<Value> {
    let Ok(text) = std::str::from_utf8(frame) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim_start()).ok())
        .collect()
}

/// The OpenAI error in a broken stream's last frame, as Anthropic's event.
fn error_of(frame: &[u8]) -> Bytes {
    let error = objects(frame).into_iter().next();
    let error = error.as_ref().and_then(|e| e.get("error"));
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("the provider's stream broke");
    let status = error
        .and_then(|e| e.get("code"))
        .and_then(|c| {
            c.as_str()
                .and_then(|c| c.parse::<u16>().ok())
                .or(c.as_u64().and_then(|c| u16::try_from(c).ok()))
        })
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_event(kind_for(status), message)
}

use bytes::Bytes;

pub fn translate(chunks: ChunkStream, ctx: Context) -> ChunkStream {
    Box::pin(async_stream::stream! {
        let mut chunks = chunks;
        let mut state = State {
            out: Vec::new(),
            started: false,
            open: None,
            index: 0,
            stop_reason: "end_turn",
            usage: None,
            cache_creation: 0,
            seen: Completion::default(),
        };
        while let Some(event) = chunks.next().await {
            match event {
                StreamEvent::Data { frame, usage } => {
                    for chunk in objects(&frame) {
                        state.chunk(&chunk, &ctx.model);
                    }
                    if let Some(usage) = usage {
                        state.usage = Some(usage);
                    }
                    for event in state.out.drain(..) {
                        yield event;
                    }
                }
                StreamEvent::Error { frame, error_type } => {
                    for event in state.out.drain(..) {
                        yield event;
                    }
                    yield StreamEvent::Error { frame: error_of(&frame), error_type };
                    return;
                }
            }
        }
        state.finish(&ctx);
        for event in state.out.drain(..) {
            yield event;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(chunk: Value, usage: Option<Usage>) -> StreamEvent {
        StreamEvent::Data {
            frame: Bytes::from(format!("data: {chunk}\n\n")),
            usage,
        }
    }

    fn run(events: Vec<StreamEvent>) -> Vec<(String, Value)> {
        let ctx = Context {
            model: "claude-ish".into(),
            encoding: Encoding::Cl100k,
            prompt_tokens: 0,
        };
        let out = futures::executor::block_on(
            translate(Box::pin(futures::stream::iter(events)), ctx).collect::<Vec<_>>(),
        );
        out.into_iter()
            .map(|e| {
                let frame = match e {
                    StreamEvent::Data { frame, .. } | StreamEvent::Error { frame, .. } => frame,
                };
                let text = String::from_utf8(frame.to_vec()).expect("utf8");
                let (event, data) = text.trim_end().split_once('\n').expect("two lines");
                (
                    event.trim_start_matches("event: ").to_string(),
                    serde_json::from_str(data.trim_start_matches("data: ")).expect("json"),
                )
            })
            .collect()
    }

    #[test]
    fn golden_text_then_tool_call_with_usage() {
        let usage = Usage {
            prompt_tokens: 12,
            completion_tokens: 6,
            cached_tokens: 2,
        };
        let events = run(vec![
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
                None,
            ),
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
                None,
            ),
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}}]}),
                None,
            ),
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":1}"}}]}}]}),
                None,
            ),
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
                None,
            ),
            data(
                json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 6, "prompt_tokens_details": {"cached_tokens": 2}}}),
                Some(usage),
            ),
        ]);
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        for (name, data) in &events {
            assert_eq!(data["type"], json!(name), "the event names its data's type");
        }
        assert_eq!(events[0].1["message"]["id"], json!("msg_c1"));
        assert_eq!(
            events[3].1["delta"],
            json!({"type": "text_delta", "text": "Hi"})
        );
        assert_eq!(
            events[5].1,
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "call_1", "name": "f", "input": {}}})
        );
        assert_eq!(
            events[6].1["delta"],
            json!({"type": "input_json_delta", "partial_json": "{\"a\":1}"})
        );
        assert_eq!(
            events[8].1,
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2, "output_tokens": 6}})
        );
    }

    #[test]
    fn a_broken_stream_ends_with_an_anthropic_error_event() {
        let events = run(vec![
            data(
                json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}),
                None,
            ),
            StreamEvent::Error {
                frame: crate::providers::stream::error_event("boom", "api_connection_error"),
                error_type: "api_connection_error",
            },
        ]);
        let (name, data) = events.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(
            data,
            &json!({"type": "error", "error": {"type": "api_error", "message": "boom"}})
        );
    }
}
