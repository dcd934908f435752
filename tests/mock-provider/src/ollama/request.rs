//! The `/api/chat` request as the mock reads and validates it. Ollama
//! itself ignores unknown fields; the mock refuses them (saying so) so that
//! a gateway sending OpenAI-only fields to Ollama is caught.

use serde_json::{Map, Value};

use crate::reply;

const TOP_LEVEL: &[&str] = &[
    "model",
    "messages",
    "tools",
    "format",
    "options",
    "stream",
    "keep_alive",
    "think",
];
const MESSAGE: &[&str] = &[
    "role",
    "content",
    "images",
    "tool_calls",
    "tool_name",
    "thinking",
];

pub struct ChatRequest {
    body: Map<String, Value>,
}

impl ChatRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let body: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
        if let Some(key) = body.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
            return Err(format!(
                "mock: unknown field \"{key}\" (Ollama would ignore it)"
            ));
        }
        if body
            .get("model")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err("model is required".to_owned());
        }
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .ok_or_else(|| "messages is required".to_owned())?;
        for message in messages {
            let Some(object) = message.as_object() else {
                return Err("json: cannot unmarshal into Go value of type api.Message".to_owned());
            };
            if let Some(key) = object.keys().find(|k| !MESSAGE.contains(&k.as_str())) {
                return Err(format!("mock: unknown message field \"{key}\""));
            }
            match object.get("role").and_then(Value::as_str) {
                Some("system" | "user" | "assistant" | "tool") => {}
                other => return Err(format!("invalid role: {other:?}")),
            }
            if object.get("content").is_some_and(|c| !c.is_string()) {
                return Err("json: cannot unmarshal array into Go struct field Message.messages.content of type string".to_owned());
            }
            if let Some(calls) = object.get("tool_calls").and_then(Value::as_array)
                && calls.iter().any(|c| {
                    !c.pointer("/function/arguments")
                        .is_some_and(Value::is_object)
                })
            {
                return Err("json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments".to_owned());
            }
            if let Some(images) = object.get("images")
                && !images
                    .as_array()
                    .is_some_and(|i| i.iter().all(Value::is_string))
            {
                return Err("mock: images must be an array of base64 strings".to_owned());
            }
        }
        Ok(Self { body })
    }

    pub fn model(&self) -> &str {
        self.body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Ollama streams unless told not to.
    pub fn stream(&self) -> bool {
        self.body
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    fn messages(&self) -> &[Value] {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn last_user_text(&self) -> String {
        self.messages()
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    }

    /// Words of every message plus one per message, as the OpenAI mock counts.
    pub fn prompt_tokens(&self) -> u64 {
        self.messages()
            .iter()
            .map(|m| reply::word_count(m.get("content").and_then(Value::as_str).unwrap_or("")) + 1)
            .sum()
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t.pointer("/function/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    }

    pub fn wants_json(&self) -> bool {
        self.body.get("format").is_some_and(|f| !f.is_null())
    }
}
