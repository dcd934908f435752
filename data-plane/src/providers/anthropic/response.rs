//! Anthropic Messages response → OpenAI `chat.completion`.

use super::request::{JSON_TOOL_NAME, RequestMeta};
use crate::providers::chat::assistant_message;
use crate::providers::stream::Usage;
use serde::Deserialize;
use serde_json::{Value, json};

/// What an OpenAI response needs that the Anthropic body does not carry.
#[derive(Debug, Clone, Copy)]
pub struct ResponseContext<'a> {
    pub model_group: &'a str,
    pub created: u64,
    pub meta: RequestMeta,
}

/// Anthropic's `usage` object (message, `message_start` and `message_delta`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct AnthropicUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Later reports (`message_delta`) override earlier ones field by field.
    pub fn merge(&mut self, later: AnthropicUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// Prompt tokens count every input token, cached or not, as LiteLLM does.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0)
                + self.cache_creation_input_tokens.unwrap_or(0),
            completion_tokens: self.output_tokens.unwrap_or(0),
            cached_tokens: self.cache_read_input_tokens.unwrap_or(0),
        }
    }

    /// OpenAI's `usage` object.
    pub fn openai(&self) -> Value {
        let usage = self.usage();
        let mut out = usage.openai_json();
        // Anthropic says when caching was in play (even with 0 read): the
        // details then always show, with LiteLLM's two cache fields.
        if self.cache_read_input_tokens.is_some() || self.cache_creation_input_tokens.is_some() {
            out["prompt_tokens_details"] =
                json!({"cached_tokens": self.cache_read_input_tokens.unwrap_or(0)});
            out["cache_read_input_tokens"] = json!(self.cache_read_input_tokens.unwrap_or(0));
            out["cache_creation_input_tokens"] =
                json!(self.cache_creation_input_tokens.unwrap_or(0));
        }
        out
    }
}

/// `stop_reason` → OpenAI's `finish_reason`.
pub fn finish_reason(stop_reason: &str, json_mode: bool) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        // In JSON mode the forced tool call *is* the answer.
        "tool_use" if json_mode => "stop",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the provider's response is not an Anthropic message: {0}")]
pub struct ResponseError(#[from] serde_json::Error);

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: String,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
}

/// Translates a whole Anthropic message body.
pub fn translate(body: &[u8], ctx: ResponseContext<'_>) -> Result<(Value, Usage), ResponseError> {
    let message: Message = serde_json::from_slice(body)?;
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("");
                let arguments = block
                    .get("input")
                    .map_or_else(|| "{}".into(), Value::to_string);
                if ctx.meta.json_mode && name == JSON_TOOL_NAME {
                    text.push_str(&arguments);
                    continue;
                }
                tool_calls.push(json!({
                    "index": tool_calls.len(),
                    "id": block.get("id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }));
            }
            Some("thinking") => {
                let thought = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                reasoning.get_or_insert_with(String::new).push_str(thought);
                thinking_blocks.push(block.clone());
            }
            Some("redacted_thinking") => thinking_blocks.push(block.clone()),
            _ => {}
        }
    }
    let mut out_message = assistant_message(text, tool_calls, reasoning);
    if !thinking_blocks.is_empty() {
        out_message.insert("thinking_blocks".into(), Value::Array(thinking_blocks));
    }
    let finish = finish_reason(
        message.stop_reason.as_deref().unwrap_or("end_turn"),
        ctx.meta.json_mode,
    );
    let body = json!({
        "id": message.id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model_group,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": out_message,
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": message.usage.openai(),
    });
    Ok((body, message.usage.usage()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(json_mode: bool) -> ResponseContext<'static> {
        ResponseContext {
            model_group: "claude",
            created: 1_700_000_000,
            meta: RequestMeta { json_mode },
        }
    }

    #[test]
    fn golden_text_thinking_and_tools() {
        let body = json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-3-7-sonnet",
            "content": [
                {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 0}
        });
        let (out, usage) = translate(body.to_string().as_bytes(), ctx(false)).expect("valid");
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 14,
                completion_tokens: 5,
                cached_tokens: 4,
            }
        );
        assert_eq!(
            out,
            json!({
                "id": "msg_01",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "claude",
                "system_fingerprint": null,
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Checking.",
                        "tool_calls": [
                            {"index": 0, "id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                            {"index": 1, "id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                        ],
                        "reasoning_content": "Let me think.",
                        "thinking_blocks": [{"type": "thinking", "thinking": "Let me think.", "signature": "sig"}]
                    },
                    "logprobs": null,
                    "finish_reason": "tool_calls"
                }],
                "usage": {
                    "prompt_tokens": 14, "completion_tokens": 5, "total_tokens": 19,
                    "prompt_tokens_details": {"cached_tokens": 4},
                    "cache_read_input_tokens": 4, "cache_creation_input_tokens": 0
                }
            })
        );
    }

    #[test]
    fn golden_json_mode_tool_is_content() {
        let body = json!({
            "id": "msg_02", "content": [{"type": "tool_use", "id": "t", "name": "json_tool_call", "input": {"a": 1}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 2}
        });
        let (out, _) = translate(body.to_string().as_bytes(), ctx(true)).expect("valid");
        assert_eq!(
            out["choices"][0],
            json!({"index": 0, "message": {"role": "assistant", "content": "{\"a\":1}"}, "logprobs": null, "finish_reason": "stop"})
        );
        assert_eq!(
            out["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        );
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        assert_eq!(finish_reason("end_turn", false), "stop");
        assert_eq!(finish_reason("stop_sequence", false), "stop");
        assert_eq!(finish_reason("max_tokens", false), "length");
        assert_eq!(finish_reason("tool_use", false), "tool_calls");
        assert_eq!(finish_reason("refusal", false), "content_filter");
    }

    #[test]
    fn non_json_is_an_error() {
        assert!(translate(b"<html>", ctx(false)).is_err());
    }
}
