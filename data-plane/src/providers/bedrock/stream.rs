//! Bedrock ConverseStream (binary event-stream) → OpenAI
//! `chat.completion.chunk` events, one chunk per Bedrock event as it arrives.

use super::super::chat::{ChunkStream, StreamEvent};
use super::super::stream::Usage;
use super::error::stream_exception;
use super::eventstream::{Decoder, Message};
use super::request::JSON_TOOL;
use super::response::{finish_reason, usage_of};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Turns Bedrock events into OpenAI chunks. Pure: fed decoded messages,
/// returns the events to send, so it is tested without a network.
pub struct Translator {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    json_mode: bool,
    /// Bedrock content-block index → OpenAI tool-call index; `None` for the
    /// JSON-mode tool, whose input is streamed as content.
    tools: HashMap<u64, Option<usize>>,
    next_tool: usize,
    finish: Option<&'static str>,
    usage: Option<Usage>,
    done: bool,
}

impl Translator {
    pub fn new(
        id: String,
        created: u64,
        model: String,
        include_usage: bool,
        json_mode: bool,
    ) -> Self {
        Self {
            id,
            created,
            model,
            include_usage,
            json_mode,
            tools: HashMap::new(),
            next_tool: 0,
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The events for one Bedrock message.
    pub fn on_message(&mut self, message: &Message) -> Vec<StreamEvent> {
        if self.done {
            return Vec::new();
        }
        if message.message_type.as_deref() != Some("event") {
            self.done = true;
            let kind = message
                .exception_type
                .as_deref()
                .or(message.error_code.as_deref())
                .unwrap_or("internalServerException");
            let payload: &[u8] = match &message.error_message {
                Some(m) if message.payload.is_empty() => m.as_bytes(),
                _ => &message.payload,
            };
            let (frame, error_type) = stream_exception(kind, payload);
            return vec![StreamEvent::Error { frame, error_type }];
        }
        let payload: Value = serde_json::from_slice(&message.payload).unwrap_or(Value::Null);
        let block = payload
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let mut out = Vec::new();
        match message.event_type.as_deref() {
            Some("messageStart") => {
                out.push(StreamEvent::chunk(
                    &self.chunk(json!({"role": "assistant", "content": ""}), None),
                    None,
                ));
            }
            Some("contentBlockStart") => {
                if let Some(tool) = payload.get("start").and_then(|s| s.get("toolUse")) {
                    let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
                    if self.json_mode && name == JSON_TOOL {
                        self.tools.insert(block, None);
                    } else {
                        let index = self.next_tool;
                        self.next_tool += 1;
                        self.tools.insert(block, Some(index));
                        let id = tool.get("toolUseId").and_then(Value::as_str).unwrap_or("");
                        out.push(StreamEvent::chunk(
                            &self.chunk(
                                json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                                None,
                            ),
                            None,
                        ));
                    }
                }
            }
            Some("contentBlockDelta") => {
                let delta = payload.get("delta").unwrap_or(&Value::Null);
                let openai = if let Some(text) = delta.get("text").and_then(Value::as_str) {
                    Some(json!({ "content": text }))
                } else if let Some(input) = delta
                    .get("toolUse")
                    .and_then(|t| t.get("input"))
                    .and_then(Value::as_str)
                {
                    match self.tools.get(&block) {
                        Some(Some(index)) => Some(
                            json!({"tool_calls": [{"index": index, "function": {"arguments": input}}]}),
                        ),
                        Some(None) => Some(json!({ "content": input })),
                        None => None,
                    }
                } else {
                    delta
                        .get("reasoningContent")
                        .and_then(|r| r.get("text"))
                        .and_then(Value::as_str)
                        .map(|t| json!({ "reasoning_content": t }))
                };
                if let Some(delta) = openai {
                    out.push(StreamEvent::chunk(&self.chunk(delta, None), None));
                }
            }
            Some("messageStop") => {
                let stop = payload
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn");
                let mut finish = finish_reason(stop);
                if self.json_mode && finish == "tool_calls" && self.next_tool == 0 {
                    finish = "stop";
                }
                self.finish = Some(finish);
            }
            Some("metadata") => {
                self.usage = Some(usage_of(payload.get("usage")));
                out.extend(self.end());
            }
            // contentBlockStop and anything new carry nothing for OpenAI.
            _ => {}
        }
        out
    }

    /// The final chunk (finish reason, and the usage for accounting), then
    /// the usage chunk if the client asked for it.
    fn end(&mut self) -> Vec<StreamEvent> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let finish = self.finish.unwrap_or("stop");
        let mut out = vec![StreamEvent::chunk(
            &self.chunk(json!({}), Some(finish)),
            self.usage,
        )];
        if let (true, Some(usage)) = (self.include_usage, self.usage) {
            let mut chunk = self.chunk(json!({}), None);
            chunk["choices"] = json!([]);
            chunk["usage"] = usage.openai_json();
            out.push(StreamEvent::chunk(&chunk, None));
        }
        out
    }

    /// The body ended: finish if `messageStop` came, else the stream broke.
    pub fn on_end(&mut self, leftover: usize) -> Vec<StreamEvent> {
        if self.done {
            return Vec::new();
        }
        if self.finish.is_some() && leftover == 0 {
            return self.end();
        }
        self.done = true;
        vec![broken("the Bedrock stream ended before messageStop")]
    }
}

fn broken(message: &str) -> StreamEvent {
    let body = json!({"error": {"message": format!("bedrock: {message}"), "type": "api_connection_error", "param": null, "code": "502"}});
    StreamEvent::Error {
        frame: Bytes::from(format!("data: {body}\n\n")),
        error_type: "api_connection_error",
    }
}

/// The chunk stream of a ConverseStream response body.
pub fn events(body: hyper::body::Incoming, mut translator: Translator) -> ChunkStream {
    Box::pin(async_stream::stream! {
        let mut decoder = Decoder::default();
        let mut frames = http_body_util::BodyDataStream::new(body);
        while let Some(frame) = frames.next().await {
            let bytes = match frame {
                Ok(bytes) => bytes,
                Err(e) => {
                    yield broken(&format!("the stream broke: {e}"));
                    return;
                }
            };
            decoder.push(&bytes);
            while let Some(message) = decoder.next_message() {
                match message {
                    Ok(message) => {
                        for event in translator.on_message(&message) {
                            yield event;
                        }
                        if translator.is_done() {
                            return;
                        }
                    }
                    Err(e) => {
                        yield broken(&e.to_string());
                        return;
                    }
                }
            }
        }
        for event in translator.on_end(decoder.pending()) {
            yield event;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::eventstream::encode;
    use super::*;

    fn event(kind: &str, payload: Value) -> Message {
        let bytes = encode(
            &[
                (":event-type", kind),
                (":message-type", "event"),
                (":content-type", "application/json"),
            ],
            payload.to_string().as_bytes(),
        );
        let mut d = Decoder::default();
        d.push(&bytes);
        d.next_message().expect("whole").expect("valid")
    }

    fn frames(events: Vec<StreamEvent>) -> Vec<(Value, Option<Usage>)> {
        events
            .into_iter()
            .map(|e| match e {
                StreamEvent::Data { frame, usage } => {
                    let text = String::from_utf8_lossy(&frame).into_owned();
                    let json = text.trim().strip_prefix("data: ").unwrap_or("").to_string();
                    (serde_json::from_str(&json).unwrap_or(Value::Null), usage)
                }
                StreamEvent::Error { frame, .. } => {
                    (json!({"error": String::from_utf8_lossy(&frame)}), None)
                }
            })
            .collect()
    }

    fn run(include_usage: bool, messages: Vec<Message>) -> Vec<(Value, Option<Usage>)> {
        let mut t = Translator::new("chatcmpl-x".into(), 1, "m".into(), include_usage, false);
        let mut out = Vec::new();
        for m in &messages {
            out.extend(t.on_message(m));
        }
        out.extend(t.on_end(0));
        frames(out)
    }

    fn base(delta: Value, finish: Option<&str>) -> Value {
        json!({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn golden_text_stream_with_usage() {
        let got = run(
            true,
            vec![
                event("messageStart", json!({"role": "assistant"})),
                event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}),
                ),
                event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
                ),
                event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"text": " world"}}),
                ),
                event("contentBlockStop", json!({"contentBlockIndex": 0})),
                event("messageStop", json!({"stopReason": "end_turn"})),
                event(
                    "metadata",
                    json!({"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {"latencyMs": 1}}),
                ),
            ],
        );
        let usage = Usage {
            prompt_tokens: 3,
            completion_tokens: 2,
            cached_tokens: 0,
        };
        let mut usage_chunk = base(json!({}), None);
        usage_chunk["choices"] = json!([]);
        usage_chunk["usage"] =
            json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5});
        assert_eq!(
            got,
            vec![
                (
                    base(json!({"role": "assistant", "content": ""}), None),
                    None
                ),
                (base(json!({"reasoning_content": "hmm"}), None), None),
                (base(json!({"content": "Hello"}), None), None),
                (base(json!({"content": " world"}), None), None),
                (base(json!({}), Some("stop")), Some(usage)),
                (usage_chunk, None),
            ]
        );
    }

    #[test]
    fn golden_tool_stream_reports_usage_without_a_usage_chunk() {
        let got = run(
            false,
            vec![
                event("messageStart", json!({"role": "assistant"})),
                event(
                    "contentBlockStart",
                    json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}}),
                ),
                event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":"}}}),
                ),
                event(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
                ),
                event("contentBlockStop", json!({"contentBlockIndex": 1})),
                event("messageStop", json!({"stopReason": "tool_use"})),
                event(
                    "metadata",
                    json!({"usage": {"inputTokens": 5, "outputTokens": 4}}),
                ),
            ],
        );
        assert_eq!(got.len(), 5);
        assert_eq!(
            got[1].0,
            base(
                json!({"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                None
            )
        );
        assert_eq!(
            got[2].0,
            base(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
                None
            )
        );
        assert_eq!(got[4].0, base(json!({}), Some("tool_calls")));
        assert_eq!(
            got[4].1,
            Some(Usage {
                prompt_tokens: 5,
                completion_tokens: 4,
                cached_tokens: 0,
            })
        );
    }

    #[test]
    fn exceptions_and_truncation_end_with_an_error() {
        let exception = {
            let bytes = encode(
                &[
                    (":exception-type", "throttlingException"),
                    (":message-type", "exception"),
                ],
                br#"{"message":"Too many requests"}"#,
            );
            let mut d = Decoder::default();
            d.push(&bytes);
            d.next_message().expect("whole").expect("valid")
        };
        let got = run(false, vec![event("messageStart", json!({})), exception]);
        assert_eq!(got.len(), 2);
        assert!(
            got[1].0["error"]
                .as_str()
                .unwrap_or("")
                .contains("Too many requests")
        );
        let got = run(false, vec![event("messageStart", json!({}))]);
        assert!(
            got[1].0["error"]
                .as_str()
                .unwrap_or("")
                .contains("before messageStop")
        );
    }
}
