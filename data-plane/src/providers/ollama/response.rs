//! Ollama's `/api/chat` answer → OpenAI `chat.completion`.

use crate::providers::chat::assistant_message;
use crate::providers::stream::Usage;
use serde_json::{Value, json};

/// Tool calls of a message in OpenAI's shape; Ollama's arguments are a JSON
/// object, OpenAI's a string. Ollama may omit ids: `call_<n>` is used then,
/// `first` being the number of calls already seen in this response.
pub fn tool_calls(message: &Value, first: usize) -> Vec<Value> {
    message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, call)| {
            let id = call
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("call_{}", first + i), str::to_string);
            let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default();
            let arguments = match call.pointer("/function/arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "{}".to_string(),
            };
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
        })
        .collect()
}

pub fn finish_reason(done_reason: Option<&str>, called_tools: bool) -> &'static str {
    match done_reason {
        Some("length") => "length",
        _ if called_tools => "tool_calls",
        _ => "stop",
    }
}

pub fn usage(response: &Value) -> (Usage, Value) {
    let prompt = response
        .get("prompt_eval_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let completion = response
        .get("eval_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let usage = Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: 0,
    };
    (usage, usage.openai_json())
}

pub fn completion(response: &Value, id: &str, model: &str, created: u64) -> (Value, Usage) {
    let message = response.get("message").unwrap_or(&Value::Null);
    let calls = tool_calls(message, 0);
    let text = message.get("content").and_then(Value::as_str).unwrap_or("");
    let thinking = message
        .get("thinking")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    let called = !calls.is_empty();
    let out = assistant_message(text.to_string(), calls, thinking.map(str::to_string));
    let (usage, usage_body) = usage(response);
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": out,
            "logprobs": null,
            "finish_reason": finish_reason(response.get("done_reason").and_then(Value::as_str), called),
        }],
        "usage": usage_body,
    });
    (body, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_completion() {
        let response = json!({
            "model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "", "thinking": "Hmm.",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
            "done": true, "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 4
        });
        let (body, usage) = completion(&response, "chatcmpl-1", "my-llama", 42);
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 4,
                cached_tokens: 0,
            }
        );
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 42, "model": "my-llama",
                "system_fingerprint": null,
                "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": null, "reasoning_content": "Hmm.",
                    "tool_calls": [{"id": "call_0", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
            })
        );
    }

    #[test]
    fn length_is_mapped() {
        assert_eq!(finish_reason(Some("length"), false), "length");
        assert_eq!(finish_reason(Some("stop"), false), "stop");
        assert_eq!(finish_reason(Some("stop"), true), "tool_calls");
    }
}
