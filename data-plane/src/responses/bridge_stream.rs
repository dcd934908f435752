//! A chat stream as a Responses API event stream: `response.created`,
//! `response.in_progress`, then per output item `response.output_item.added`,
//! its deltas (`response.output_text.delta` after
//! `response.content_part.added`, `response.function_call_arguments.delta`,
//! `response.reasoning_summary_text.delta`), their `.done` events and
//! `response.output_item.done`, then `response.completed` (or
//! `response.incomplete`) with the whole response and its usage.

use super::bridge_response::{finish, function_call_item, item_id, message_item, reasoning_item};
use crate::providers::responses::frame;
use crate::providers::stream::Usage;
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// One output item being streamed.
enum Item {
    Reasoning {
        id: String,
        text: String,
    },
    Message {
        id: String,
        text: String,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
}

pub struct Translator {
    template: Map<String, Value>,
    /// Output items in output order; `calls` maps chat's tool-call index to
    /// its position here.
    items: Vec<Item>,
    reasoning: Option<usize>,
    message: Option<usize>,
    calls: Vec<(u64, usize)>,
    finish_reason: Option<String>,
    sequence: u64,
}

impl Translator {
    /// `template` carries the id the stream's first events announce.
    pub fn new(template: Map<String, Value>) -> Self {
        Translator {
            template,
            items: Vec::new(),
            reasoning: None,
            message: None,
            calls: Vec::new(),
            finish_reason: None,
            sequence: 0,
        }
    }

    fn event(&mut self, name: &str, mut fields: Map<String, Value>) -> Bytes {
        fields.insert("type".into(), Value::String(name.into()));
        fields.insert("sequence_number".into(), json!(self.sequence));
        self.sequence += 1;
        frame(name, &Value::Object(fields).to_string())
    }

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// `response.created` and `response.in_progress`.
    pub fn start(&mut self) -> Vec<Bytes> {
        let response = Value::Object(self.template.clone());
        vec![
            self.event(
                "response.created",
                Self::fields(json!({"response": response.clone()})),
            ),
            self.event(
                "response.in_progress",
                Self::fields(json!({"response": response})),
            ),
        ]
    }

    /// The events of one chat chunk.
    pub fn push(&mut self, chunk: &Value) -> Vec<Bytes> {
        let mut out = Vec::new();
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else {
            return out;
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        let Some(delta) = choice.get("delta") else {
            return out;
        };
        if let Some(text) = delta
            .get("reasoning_content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            let index = match self.reasoning {
                Some(index) => index,
                None => {
                    let id = item_id("rs");
                    let index = self.items.len();
                    let item = json!({"type": "reasoning", "id": id, "summary": []});
                    out.push(self.event(
                        "response.output_item.added",
                        Self::fields(json!({"output_index": index, "item": item})),
                    ));
                    out.push(self.event(
                        "response.reasoning_summary_part.added",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""},
                        })),
                    ));
                    self.items.push(Item::Reasoning {
                        id,
                        text: String::new(),
                    });
                    self.reasoning = Some(index);
                    index
                }
            };
            if let Some(Item::Reasoning { id, text: all }) = self.items.get_mut(index) {
                all.push_str(text);
                let id = id.clone();
                out.push(self.event(
                    "response.reasoning_summary_text.delta",
                    Self::fields(json!({
                        "item_id": id, "output_index": index, "summary_index": 0, "delta": text,
                    })),
                ));
            }
        }
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            let index = match self.message {
                Some(index) => index,
                None => {
                    let id = item_id("msg");
                    let index = self.items.len();
                    let item = json!({"type": "message", "id": id, "status": "in_progress", "role": "assistant", "content": []});
                    out.push(self.event(
                        "response.output_item.added",
                        Self::fields(json!({"output_index": index, "item": item})),
                    ));
                    out.push(self.event(
                        "response.content_part.added",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "content_index": 0,
                            "part": {"type": "output_text", "text": "", "annotations": []},
                        })),
                    ));
                    self.items.push(Item::Message {
                        id,
                        text: String::new(),
                    });
                    self.message = Some(index);
                    index
                }
            };
            if let Some(Item::Message { id, text: all }) = self.items.get_mut(index) {
                all.push_str(text);
                let id = id.clone();
                out.push(self.event("response.output_text.delta", Self::fields(json!({
                    "item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": [],
                }))));
            }
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let chat_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let function = call.get("function");
            let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
            let arguments = function
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let index = match self.calls.iter().find(|(i, _)| *i == chat_index) {
                Some((_, index)) => *index,
                None => {
                    let id = item_id("fc");
                    let call_id = call
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| item_id("call"), str::to_string);
                    let name = name.unwrap_or("").to_string();
                    let index = self.items.len();
                    let item = function_call_item(&id, &call_id, &name, "", "in_progress");
                    out.push(self.event(
                        "response.output_item.added",
                        Self::fields(json!({"output_index": index, "item": item})),
                    ));
                    self.items.push(Item::Call {
                        id,
                        call_id,
                        name,
                        arguments: String::new(),
                    });
                    self.calls.push((chat_index, index));
                    index
                }
            };
            if let Some(Item::Call {
                id,
                arguments: all,
                name: item_name,
                ..
            }) = self.items.get_mut(index)
            {
                if item_name.is_empty()
                    && let Some(name) = name
                {
                    name.clone_into(item_name);
                }
                if arguments.is_empty() {
                    continue;
                }
                all.push_str(arguments);
                let id = id.clone();
                out.push(self.event(
                    "response.function_call_arguments.delta",
                    Self::fields(json!({
                        "item_id": id, "output_index": index, "delta": arguments,
                    })),
                ));
            }
        }
        out
    }

    /// The `.done` events of every item, then `response.completed` (or
    /// `response.incomplete`) with the finished response, whose id `seal`
    /// gives (the finished object is what it seals).
    pub fn finish(
        mut self,
        usage: Option<Usage>,
        seal: impl FnOnce(&Map<String, Value>) -> String,
    ) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut output = Vec::with_capacity(self.items.len());
        let items = std::mem::take(&mut self.items);
        for (index, item) in items.into_iter().enumerate() {
            let done = match item {
                Item::Reasoning { id, text } => {
                    out.push(self.event(
                        "response.reasoning_summary_text.done",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "summary_index": 0, "text": text,
                        })),
                    ));
                    out.push(self.event(
                        "response.reasoning_summary_part.done",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": text},
                        })),
                    ));
                    reasoning_item(&id, &text)
                }
                Item::Message { id, text } => {
                    out.push(self.event("response.output_text.done", Self::fields(json!({
                        "item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": [],
                    }))));
                    out.push(self.event(
                        "response.content_part.done",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "content_index": 0,
                            "part": {"type": "output_text", "text": text, "annotations": []},
                        })),
                    ));
                    message_item(&id, &text, "completed")
                }
                Item::Call {
                    id,
                    call_id,
                    name,
                    arguments,
                } => {
                    out.push(self.event(
                        "response.function_call_arguments.done",
                        Self::fields(json!({
                            "item_id": id, "output_index": index, "arguments": arguments,
                        })),
                    ));
                    function_call_item(&id, &call_id, &name, &arguments, "completed")
                }
            };
            out.push(self.event(
                "response.output_item.done",
                Self::fields(json!({"output_index": index, "item": done.clone()})),
            ));
            output.push(done);
        }
        let template = std::mem::take(&mut self.template);
        let mut response = finish(template, output, usage, self.finish_reason.as_deref());
        response.remove("id");
        let id = seal(&response);
        response.insert("id".into(), Value::String(id));
        let name = if response.get("status").and_then(Value::as_str) == Some("incomplete") {
            "response.incomplete"
        } else {
            "response.completed"
        };
        out.push(self.event(name, Self::fields(json!({"response": response}))));
        out
    }

    /// OpenAI's `error` event, numbered in this stream's sequence.
    pub fn error(&mut self, code: &str, message: &str) -> Bytes {
        self.event(
            "error",
            Self::fields(json!({"code": code, "message": message, "param": null})),
        )
    }

    /// `response.failed` after a broken stream, with OpenAI's `error`.
    pub fn fail(mut self, code: &str, message: &str) -> Bytes {
        let mut response = std::mem::take(&mut self.template);
        response.insert("status".into(), json!("failed"));
        response.insert("error".into(), json!({"code": code, "message": message}));
        self.event(
            "response.failed",
            Self::fields(json!({"response": response})),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(frames: &[Bytes]) -> Vec<Value> {
        frames
            .iter()
            .map(|f| {
                let text = std::str::from_utf8(f).expect("utf-8");
                let data = text.split("data: ").nth(1).expect("data line").trim_end();
                serde_json::from_str(data).expect("json")
            })
            .collect()
    }

    #[test]
    fn text_and_tool_call_chunks_become_the_event_sequence() {
        let mut template = Map::new();
        template.insert("id".into(), json!("resp_provisional"));
        template.insert("status".into(), json!("in_progress"));
        let mut t = Translator::new(template);
        let mut frames = t.start();
        for chunk in [
            json!({"choices": [{"delta": {"role": "assistant", "content": ""}}]}),
            json!({"choices": [{"delta": {"content": "Hel"}}]}),
            json!({"choices": [{"delta": {"content": "lo"}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_9", "function": {"name": "f", "arguments": ""}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":1}"}}]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
        ] {
            frames.extend(t.push(&chunk));
        }
        frames.extend(t.finish(
            Some(Usage {
                prompt_tokens: 4,
                completion_tokens: 2,
                cached_tokens: 0,
            }),
            |_| "resp_final".into(),
        ));
        let events = events(&frames);
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let sequence: Vec<u64> = events
            .iter()
            .map(|e| e["sequence_number"].as_u64().unwrap_or(99))
            .collect();
        assert_eq!(sequence, (0..14).collect::<Vec<_>>());
        let done = &events[13]["response"];
        assert_eq!(done["id"], "resp_final");
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
        assert_eq!(done["output"][1]["arguments"], "{\"a\":1}");
        assert_eq!(done["output"][1]["call_id"], "call_9");
        assert_eq!(done["usage"]["input_tokens"], 4);
        assert!(frames[0].starts_with(b"event: response.created\ndata: "));
    }
}
