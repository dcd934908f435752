//! Anthropic's SSE stream (`message_start`, `content_block_*`,
//! `message_delta`, `message_stop`, `ping`, `error`) → OpenAI chunks, one
//! event at a time as it arrives.

use super::error::openai_kind;
use super::request::{JSON_TOOL_NAME, RequestMeta};
use super::response::{AnthropicUsage, finish_reason};
use crate::providers::chat::{ChunkStream, StreamEvent};
use crate::providers::stream::Usage;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;

/// What every chunk of one stream shares.
#[derive(Debug, Clone)]
pub struct StreamContext {
    pub model_group: String,
    pub created: u64,
    pub include_usage: bool,
    pub meta: RequestMeta,
    /// Used until `message_start` gives the message id.
    pub fallback_id: String,
}

/// What a content block is, so its deltas land in the right OpenAI field.
#[derive(Debug, Clone, Copy)]
enum Block {
    Text,
    /// The `tool_calls[].index` OpenAI clients key fragments by.
    Tool(usize),
    /// The JSON-mode tool: its input is the message content.
    JsonContent,
    Thinking,
}

/// The translation state of one stream.
#[derive(Debug)]
pub struct Translator {
    ctx: StreamContext,
    id: String,
    usage: AnthropicUsage,
    blocks: HashMap<u64, Block>,
    next_tool: usize,
    stopped: bool,
}

/// One translated step.
#[derive(Debug, PartialEq)]
pub enum Step {
    Chunk { chunk: Value, usage: Option<Usage> },
    Error { message: String, kind: &'static str },
    End,
}

impl Translator {
    pub fn new(ctx: StreamContext) -> Self {
        let id = ctx.fallback_id.clone();
        Self {
            ctx,
            id,
            usage: AnthropicUsage::default(),
            blocks: HashMap::new(),
            next_tool: 0,
            stopped: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.ctx.created,
            "model": self.ctx.model_group,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    }

    fn data(&self, delta: Value) -> Step {
        Step::Chunk {
            chunk: self.chunk(delta, None),
            usage: None,
        }
    }

    /// Translates one SSE event's data (the `type` inside it names the
    /// event, as the `event:` line does).
    pub fn event(&mut self, data: &str) -> Vec<Step> {
        let Ok(event) = serde_json::from_str::<Value>(data) else {
            return vec![Step::Error {
                message: "the provider sent an event that is not JSON".into(),
                kind: "api_error",
            }];
        };
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let message = event.get("message").unwrap_or(&Value::Null);
                if let Some(id) = message.get("id").and_then(Value::as_str) {
                    self.id = id.to_string();
                }
                if let Some(usage) = message.get("usage") {
                    self.usage
                        .merge(serde_json::from_value(usage.clone()).unwrap_or_default());
                }
                vec![self.data(json!({"role": "assistant", "content": ""}))]
            }
            "content_block_start" => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                        if self.ctx.meta.json_mode && name == JSON_TOOL_NAME {
                            self.blocks.insert(index, Block::JsonContent);
                            return Vec::new();
                        }
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.blocks.insert(index, Block::Tool(tool));
                        vec![self.data(json!({"tool_calls": [{
                            "index": tool,
                            "id": block.get("id").cloned().unwrap_or(Value::Null),
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }]}))]
                    }
                    Some("thinking" | "redacted_thinking") => {
                        self.blocks.insert(index, Block::Thinking);
                        Vec::new()
                    }
                    _ => {
                        self.blocks.insert(index, Block::Text);
                        match block.get("text").and_then(Value::as_str) {
                            Some(text) if !text.is_empty() => {
                                vec![self.data(json!({"content": text}))]
                            }
                            _ => Vec::new(),
                        }
                    }
                }
            }
            "content_block_delta" => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let text = |field: &str| delta.get(field).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => vec![self.data(json!({"content": text("text")}))],
                    Some("thinking_delta") => {
                        vec![self.data(json!({"reasoning_content": text("thinking")}))]
                    }
                    Some("input_json_delta") => {
                        let fragment = text("partial_json");
                        match self.blocks.get(&index) {
                            Some(Block::JsonContent) => {
                                vec![self.data(json!({"content": fragment}))]
                            }
                            Some(Block::Tool(tool)) => vec![self.data(json!({"tool_calls": [{
                                "index": tool,
                                "function": {"arguments": fragment},
                            }]}))],
                            _ => Vec::new(),
                        }
                    }
                    // `signature_delta`, citations and future kinds carry
                    // nothing OpenAI's chunk has a field for.
                    _ => Vec::new(),
                }
            }
            "message_delta" => {
                if let Some(usage) = event.get("usage") {
                    self.usage
                        .merge(serde_json::from_value(usage.clone()).unwrap_or_default());
                }
                let stop = event
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn");
                let finish = finish_reason(stop, self.ctx.meta.json_mode);
                let usage = self.usage.usage();
                let mut steps = Vec::with_capacity(2);
                // Accounting always gets the usage; the client gets the usage
                // chunk only when it asked for it.
                if self.ctx.include_usage {
                    steps.push(Step::Chunk {
                        chunk: self.chunk(json!({}), Some(finish)),
                        usage: None,
                    });
                    let mut chunk = self.chunk(json!({}), None);
                    chunk["choices"] = json!([]);
                    chunk["usage"] = self.usage.openai();
                    steps.push(Step::Chunk {
                        chunk,
                        usage: Some(usage),
                    });
                } else {
                    steps.push(Step::Chunk {
                        chunk: self.chunk(json!({}), Some(finish)),
                        usage: Some(usage),
                    });
                }
                steps
            }
            "message_stop" => {
                self.stopped = true;
                vec![Step::End]
            }
            "error" => {
                let error = event.get("error").unwrap_or(&Value::Null);
                let kind = error
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("api_error");
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the provider reported an error mid-stream");
                vec![Step::Error {
                    message: format!("anthropic: {message}"),
                    kind: openai_kind(kind, http::StatusCode::INTERNAL_SERVER_ERROR),
                }]
            }
            // `ping`, `content_block_stop` and unknown future events.
            _ => Vec::new(),
        }
    }

    /// Whether `message_stop` was seen: a stream that ends before it was
    /// cut short.
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}

/// Translates an Anthropic SSE body into OpenAI chunk events.
pub fn events<S, E>(body: S, ctx: StreamContext) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    Box::pin(async_stream::stream! {
        let mut translator = Translator::new(ctx);
        let mut sse = std::pin::pin!(crate::providers::sse::parse(body));
        while let Some(event) = sse.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    yield StreamEvent::failure(&format!("anthropic: the provider's stream broke: {e}"), "api_connection_error");
                    return;
                }
            };
            for step in translator.event(&event.data) {
                match step {
                    Step::Chunk { chunk, usage } => yield StreamEvent::chunk(&chunk, usage),
                    Step::Error { message, kind } => {
                        yield StreamEvent::failure(&message, kind);
                        return;
                    }
                    Step::End => return,
                }
            }
        }
        if !translator.stopped() {
            yield StreamEvent::failure("anthropic: the provider's stream ended before `message_stop`", "api_connection_error");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx(include_usage: bool, json_mode: bool) -> StreamContext {
        StreamContext {
            model_group: "claude".into(),
            created: 7,
            include_usage,
            meta: RequestMeta { json_mode },
            fallback_id: "chatcmpl-x".into(),
        }
    }

    /// A real-shaped stream: text, a tool call, usage, with `event:` lines.
    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-sonnet\",\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\n",
        "data: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Héllo\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );

    fn collect(pieces: Vec<Bytes>, ctx: StreamContext) -> Vec<(String, Option<Usage>, bool)> {
        let body = futures::stream::iter(
            pieces
                .into_iter()
                .map(Ok::<Bytes, std::convert::Infallible>),
        );
        futures::executor::block_on(events(body, ctx).collect::<Vec<_>>())
            .into_iter()
            .map(|e| match e {
                StreamEvent::Data { frame, usage } => {
                    (String::from_utf8_lossy(&frame).into_owned(), usage, false)
                }
                StreamEvent::Error { frame, .. } => {
                    (String::from_utf8_lossy(&frame).into_owned(), None, true)
                }
            })
            .collect()
    }

    fn frames_json(events: &[(String, Option<Usage>, bool)]) -> Vec<Value> {
        events
            .iter()
            .map(|(frame, _, _)| {
                let data = frame
                    .strip_prefix("data: ")
                    .and_then(|f| f.strip_suffix("\n\n"))
                    .expect("frame");
                serde_json::from_str(data).expect("json")
            })
            .collect()
    }

    #[test]
    fn golden_stream_with_usage() {
        let events = collect(
            vec![Bytes::from_static(STREAM.as_bytes())],
            ctx(true, false),
        );
        let chunk = |delta: Value, finish: Value| {
            json!({
                "id": "msg_1", "object": "chat.completion.chunk", "created": 7, "model": "claude",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
            })
        };
        assert_eq!(
            frames_json(&events),
            vec![
                chunk(json!({"role": "assistant", "content": ""}), Value::Null),
                chunk(json!({"content": "Héllo"}), Value::Null),
                chunk(json!({"content": " there"}), Value::Null),
                chunk(
                    json!({"tool_calls": [{"index": 0, "id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                    Value::Null
                ),
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}),
                    Value::Null
                ),
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                    Value::Null
                ),
                chunk(json!({}), json!("tool_calls")),
                json!({"id": "msg_1", "object": "chat.completion.chunk", "created": 7, "model": "claude", "choices": [],
                       "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}),
            ]
        );
        let usage: Vec<_> = events.iter().filter_map(|e| e.1).collect();
        assert_eq!(
            usage,
            vec![Usage {
                prompt_tokens: 12,
                completion_tokens: 9,
                cached_tokens: 0,
            }]
        );
        assert!(events.iter().all(|e| !e.2));
    }

    #[test]
    fn usage_reaches_accounting_without_usage_chunk() {
        let events = collect(
            vec![Bytes::from_static(STREAM.as_bytes())],
            ctx(false, false),
        );
        let json = frames_json(&events);
        assert!(json.iter().all(|c| c.get("usage").is_none()));
        let last = events.last().expect("finish");
        assert_eq!(
            last.1,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 9,
                cached_tokens: 0,
            })
        );
    }

    #[test]
    fn json_mode_tool_input_streams_as_content() {
        let stream = STREAM.replace("get_weather", "json_tool_call");
        let events = collect(vec![Bytes::from(stream)], ctx(false, true));
        let json = frames_json(&events);
        let content: String = json
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(content, "Héllo there{\"city\": \"Paris\"}");
        assert_eq!(
            json.last().expect("finish")["choices"][0]["finish_reason"],
            "stop"
        );
    }

    #[test]
    fn thinking_and_error_events() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"usage\":{\"input_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        );
        let events = collect(
            vec![Bytes::from_static(stream.as_bytes())],
            ctx(false, false),
        );
        assert_eq!(events.len(), 3);
        let json = frames_json(&events);
        assert_eq!(
            json[1]["choices"][0]["delta"],
            json!({"reasoning_content": "hmm"})
        );
        assert!(events[2].2);
        assert_eq!(
            json[2],
            json!({"error": {"message": "anthropic: Overloaded", "type": "api_error", "param": null, "code": "500"}})
        );
    }

    #[test]
    fn truncated_stream_ends_with_an_error() {
        let cut = &STREAM[..STREAM.find("event: message_delta").expect("delta")];
        let events = collect(
            vec![Bytes::copy_from_slice(cut.as_bytes())],
            ctx(false, false),
        );
        assert!(events.last().expect("error").2);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let pieces = chunks.into_iter().map(Bytes::from).collect();
            let _ = collect(pieces, ctx(true, false));
        }

        #[test]
        fn splitting_never_changes_the_events(cuts in proptest::collection::vec(0..STREAM.len(), 0..12)) {
            let bytes = STREAM.as_bytes();
            let mut cuts = cuts;
            cuts.sort_unstable();
            cuts.dedup();
            let mut pieces = Vec::new();
            let mut start = 0;
            for cut in cuts {
                pieces.push(Bytes::copy_from_slice(&bytes[start..cut]));
                start = cut;
            }
            pieces.push(Bytes::copy_from_slice(&bytes[start..]));
            let whole = collect(vec![Bytes::from_static(bytes)], ctx(true, false));
            prop_assert_eq!(collect(pieces, ctx(true, false)), whole);
        }
    }
}
