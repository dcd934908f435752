//! An OpenAI `chat.completion` → an Anthropic `message`, for deployments
//! whose answers are OpenAI-shaped (every provider but Anthropic's own).

use crate::providers::stream::Usage;
use serde_json::{Map, Value, json};

/// OpenAI's `finish_reason` → Anthropic's `stop_reason`.
pub fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Prompt-cache writes an OpenAI-shaped `usage` reports (LiteLLM's field,
/// which translators of caching providers fill).
pub fn cache_creation_of(usage: &Value) -> u64 {
    usage
        .get("cache_creation_input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Anthropic's `usage` from the gateway's count: `input_tokens` excludes
/// what was read from or written to the prompt cache, which have fields of
/// their own.
pub fn anthropic_usage(usage: Usage, cache_creation: u64) -> Value {
    let cached = usage.cached_tokens.min(usage.prompt_tokens);
    let writes = cache_creation.min(usage.prompt_tokens - cached);
    json!({
        "input_tokens": usage.prompt_tokens - cached - writes,
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": cached,
        "output_tokens": usage.completion_tokens,
    })
}

/// Tool-call arguments (a JSON string) as the `input` object Anthropic
/// gives; text that is not a JSON object is kept under `arguments`.
pub fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(input)) => Value::Object(input),
        _ => json!({"arguments": arguments}),
    }
}

/// The message, with the usage it carried (zero when none) and its cache
/// writes; `model` is the model the client asked for.
pub fn translate(body: &[u8], model: &str, usage: Usage) -> Option<(Value, u64)> {
    let completion: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let choice = completion
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let message = choice.and_then(|c| c.get("message"));
    let mut content = Vec::new();
    if let Some(message) = message {
        match message.get("thinking_blocks") {
            Some(Value::Array(blocks)) if !blocks.is_empty() => {
                content.extend(blocks.iter().cloned())
            }
            _ => {
                if let Some(thinking) = message
                    .get("reasoning_content")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    content
                        .push(json!({"type": "thinking", "thinking": thinking, "signature": ""}));
                }
            }
        }
        if let Some(text) = message
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            content.push(json!({"type": "text", "text": text}));
        }
        if let Some(Value::Array(calls)) = message.get("tool_calls") {
            for call in calls {
                let function = call.get("function").unwrap_or(&Value::Null);
                content.push(json!({
                    "type": "tool_use",
                    "id": call.get("id").cloned().unwrap_or_default(),
                    "name": function.get("name").cloned().unwrap_or_default(),
                    "input": tool_input(function.get("arguments").and_then(Value::as_str).unwrap_or("")),
                }));
            }
        }
    }
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .unwrap_or("stop");
    let cache_creation = completion.get("usage").map_or(0, cache_creation_of);
    let id = completion
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let out = json!({
        "id": message_id(id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(finish),
        "stop_sequence": null,
        "usage": anthropic_usage(usage, cache_creation),
    });
    Some((out, cache_creation))
}

/// Anthropic message ids start with `msg_`; the provider's id follows.
pub fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_string()
    } else {
        format!("msg_{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_completion_with_reasoning_and_tools() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check.", "reasoning_content": "thinking...",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]
            }}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27, "prompt_tokens_details": {"cached_tokens": 5}}
        });
        let usage = Usage {
            prompt_tokens: 20,
            completion_tokens: 7,
            cached_tokens: 5,
        };
        let (out, writes) =
            translate(body.to_string().as_bytes(), "my-model", usage).expect("translates");
        assert_eq!(writes, 0);
        assert_eq!(
            out,
            json!({
                "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "my-model",
                "content": [
                    {"type": "thinking", "thinking": "thinking...", "signature": ""},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 15, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 7}
            })
        );
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        for (finish, stop) in [
            ("stop", "end_turn"),
            ("length", "max_tokens"),
            ("tool_calls", "tool_use"),
            ("content_filter", "refusal"),
        ] {
            assert_eq!(stop_reason(finish), stop);
        }
        assert_eq!(tool_input("not json"), json!({"arguments": "not json"}));
        assert_eq!(tool_input(""), json!({}));
    }
}
