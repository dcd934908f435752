//! Bedrock Converse response → OpenAI `chat.completion`.

use super::super::chat::assistant_message;
use super::super::stream::Usage;
use super::request::JSON_TOOL;
use serde_json::{Value, json};

/// OpenAI's `finish_reason` for a Converse `stopReason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "content_filtered" | "guardrail_intervened" => "content_filter",
        // end_turn, stop_sequence and anything new.
        _ => "stop",
    }
}

/// Converse's `usage` as OpenAI's. `inputTokens` leaves out the prompt
/// tokens read from (`cacheReadInputTokens`) or written to
/// (`cacheWriteInputTokens`) the prompt cache; OpenAI's `prompt_tokens`
/// counts them all, with the reads as `cached_tokens` (as LiteLLM maps it).
pub fn usage_of(value: Option<&Value>) -> Usage {
    let field = |name: &str| {
        value
            .and_then(|u| u.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cached = field("cacheReadInputTokens");
    Usage {
        prompt_tokens: field("inputTokens") + cached + field("cacheWriteInputTokens"),
        completion_tokens: field("outputTokens"),
        cached_tokens: cached,
    }
}

/// Translates a Converse response; `None` if it is not one.
pub fn to_openai(
    converse: &Value,
    id: &str,
    created: u64,
    model: &str,
    json_mode: bool,
) -> Option<(Value, Usage)> {
    let blocks = converse
        .get("output")?
        .get("message")?
        .get("content")?
        .as_array()?;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.push_str(t);
        } else if let Some(tool) = block.get("toolUse") {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
            let input = tool.get("input").cloned().unwrap_or_else(|| json!({}));
            if json_mode && name == JSON_TOOL {
                text.push_str(&input.to_string());
                continue;
            }
            tool_calls.push(json!({
                "id": tool.get("toolUseId").and_then(Value::as_str).unwrap_or(""),
                "type": "function",
                "function": {"name": name, "arguments": input.to_string()},
            }));
        } else if let Some(r) = block
            .get("reasoningContent")
            .and_then(|r| r.get("reasoningText"))
            .and_then(|r| r.get("text"))
            .and_then(Value::as_str)
        {
            reasoning.push_str(r);
        }
    }
    let stop = converse
        .get("stopReason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let mut finish = finish_reason(stop);
    if json_mode && finish == "tool_calls" && tool_calls.is_empty() {
        finish = "stop";
    }
    let usage = usage_of(converse.get("usage"));
    let reasoning = Some(reasoning).filter(|r| !r.is_empty());
    let message = assistant_message(text, tool_calls, reasoning);
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage.openai_json(),
    });
    Some((body, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reads_and_writes_are_prompt_tokens_and_reads_are_cached() {
        let usage = usage_of(Some(&json!({
            "inputTokens": 10, "outputTokens": 4, "totalTokens": 31,
            "cacheReadInputTokens": 12, "cacheWriteInputTokens": 5
        })));
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 27,
                completion_tokens: 4,
                cached_tokens: 12,
            }
        );
        assert_eq!(
            usage.openai_json()["prompt_tokens_details"],
            json!({"cached_tokens": 12})
        );
        let plain = usage_of(Some(&json!({"inputTokens": 3, "outputTokens": 2})));
        assert_eq!(plain.cached_tokens, 0);
        assert!(plain.openai_json().get("prompt_tokens_details").is_none());
    }

    #[test]
    fn golden_text_reasoning_and_tools() {
        let converse = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "thinking...", "signature": "sig"}}},
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
            "metrics": {"latencyMs": 100}
        });
        let (body, usage) =
            to_openai(&converse, "chatcmpl-1", 1700000000, "claude", false).expect("converse");
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 7,
                cached_tokens: 0,
            }
        );
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "claude",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Let me check.",
                    "reasoning_content": "thinking...",
                    "tool_calls": [{"id": "tooluse_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]
                }}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
            })
        );
    }

    #[test]
    fn json_mode_returns_the_tool_input_as_content() {
        let converse = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "t", "name": "json_tool_call", "input": {"a": 1}}}
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 1, "outputTokens": 2}
        });
        let (body, _) = to_openai(&converse, "i", 0, "m", true).expect("converse");
        assert_eq!(
            body["choices"][0]["message"],
            json!({"role": "assistant", "content": "{\"a\":1}"})
        );
        assert_eq!(body["choices"][0]["finish_reason"], json!("stop"));
    }

    #[test]
    fn stop_reasons_map_to_openai() {
        for (bedrock, openai) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("content_filtered", "content_filter"),
            ("guardrail_intervened", "content_filter"),
        ] {
            assert_eq!(finish_reason(bedrock), openai);
        }
    }
}
