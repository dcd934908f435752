//! Gemini `GenerateContentResponse` → OpenAI `chat.completion`.

use super::error::blocked_prompt;
use crate::providers::chat::assistant_message;
use crate::providers::error::ProviderError;
use crate::providers::stream::Usage;
use serde_json::{Value, json};

/// A function call, in OpenAI terms.
#[derive(Debug)]
pub struct Call {
    pub name: String,
    /// JSON text, as OpenAI carries arguments.
    pub arguments: String,
    /// Gemini's `thoughtSignature`, which thinking models require back with
    /// the call in the next turn.
    pub signature: Option<String>,
}

/// What one candidate's parts say, in OpenAI terms.
#[derive(Debug, Default)]
pub struct Parts {
    pub text: String,
    pub reasoning: String,
    pub calls: Vec<Call>,
}

pub fn read_parts(candidate: &Value) -> Parts {
    let mut out = Parts::default();
    let Some(parts) = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for part in parts {
        if let Some(call) = part.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
            let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
            out.calls.push(Call {
                name: name.to_string(),
                arguments: args.to_string(),
                signature: part
                    .get("thoughtSignature")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        } else if let Some(text) = part.get("text").and_then(Value::as_str) {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                out.reasoning.push_str(text);
            } else {
                out.text.push_str(text);
            }
        }
    }
    out
}

/// Gemini's `finishReason` in OpenAI's vocabulary; a turn that called
/// functions ends with `tool_calls`, as OpenAI's do.
pub fn finish_reason(reason: &str, called_tools: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        _ if called_tools => "tool_calls",
        _ => "stop",
    }
}

/// `usageMetadata` → OpenAI usage (thinking tokens are completion tokens,
/// as OpenAI bills reasoning).
pub fn usage(metadata: &Value) -> (Usage, Value) {
    let count = |key: &str| metadata.get(key).and_then(Value::as_u64).unwrap_or(0);
    let prompt = count("promptTokenCount");
    let thoughts = count("thoughtsTokenCount");
    let completion = count("candidatesTokenCount") + thoughts;
    let usage = Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: count("cachedContentTokenCount"),
    };
    let mut body = usage.openai_json();
    // Gemini says when a cache was in play: the details show even at 0.
    if metadata.get("cachedContentTokenCount").is_some() {
        body["prompt_tokens_details"] = json!({"cached_tokens": usage.cached_tokens});
    }
    if thoughts > 0 {
        body["completion_tokens_details"] = json!({"reasoning_tokens": thoughts});
    }
    (usage, body)
}

/// The candidates of a response (an event, when streamed); none and a
/// `promptFeedback.blockReason` is a prompt Gemini refused.
pub fn candidates(response: &Value) -> Result<&[Value], ProviderError> {
    let candidates = response
        .get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if candidates.is_empty()
        && let Some(reason) = response
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
    {
        return Err(blocked_prompt(reason));
    }
    Ok(candidates)
}

/// Builds the `chat.completion` body; a prompt blocked before any candidate
/// is a content-policy error.
pub fn completion(
    response: &Value,
    id: &str,
    model: &str,
    created: u64,
) -> Result<(Value, Usage), ProviderError> {
    let candidates = candidates(response)?;
    let mut next_call = 0usize;
    let mut choices = Vec::with_capacity(candidates.len());
    for (position, candidate) in candidates.iter().enumerate() {
        let parts = read_parts(candidate);
        let called = !parts.calls.is_empty();
        let calls: Vec<Value> = parts
            .calls
            .into_iter()
            .map(|call| {
                let id = call_id(next_call, call.signature.as_deref());
                next_call += 1;
                json!({"id": id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}})
            })
            .collect();
        let reasoning = Some(parts.reasoning).filter(|r| !r.is_empty());
        let message = assistant_message(parts.text, calls, reasoning);
        let reason = candidate
            .get("finishReason")
            .and_then(Value::as_str)
            .unwrap_or("STOP");
        choices.push(json!({
            "index": candidate.get("index").and_then(Value::as_u64).unwrap_or(position as u64),
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(reason, called),
        }));
    }
    let (usage, usage_body) = usage(response.get("usageMetadata").unwrap_or(&Value::Null));
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": null,
        "choices": choices,
        "usage": usage_body,
    });
    Ok((body, usage))
}

/// Separates a call id from the thought signature embedded in it, as
/// LiteLLM does: OpenAI clients send ids back untouched, other fields not.
pub const THOUGHT_SIGNATURE_SEPARATOR: &str = "__thought__";

/// Gemini's function calls carry no id: ids are numbered in the order the
/// calls appear in the response, so the same response always gets the same
/// ids (streamed or not); a thought signature rides along in the id.
pub fn call_id(n: usize, signature: Option<&str>) -> String {
    match signature {
        Some(signature) => format!("call_{n}{THOUGHT_SIGNATURE_SEPARATOR}{signature}"),
        None => format!("call_{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_completion() {
        let response = json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Let me think.", "thought": true},
                    {"text": "Checking."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {}}, "thoughtSignature": "c2ln"}
                ]},
                "finishReason": "STOP", "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 3,
                "cachedContentTokenCount": 2, "totalTokenCount": 18},
            "modelVersion": "gemini-2.5-flash", "responseId": "abc"
        });
        let (body, usage) = completion(&response, "chatcmpl-1", "my-gemini", 42).expect("ok");
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 10,
                completion_tokens: 8,
                cached_tokens: 2,
            }
        );
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 42, "model": "my-gemini",
                "system_fingerprint": null,
                "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Checking.", "reasoning_content": "Let me think.",
                    "tool_calls": [
                        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_1__thought__c2ln", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                    ]}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18,
                    "prompt_tokens_details": {"cached_tokens": 2},
                    "completion_tokens_details": {"reasoning_tokens": 3}}
            })
        );
    }

    #[test]
    fn finish_reasons_map_to_openai() {
        assert_eq!(finish_reason("STOP", false), "stop");
        assert_eq!(finish_reason("MAX_TOKENS", true), "length");
        assert_eq!(finish_reason("SAFETY", false), "content_filter");
        assert_eq!(finish_reason("RECITATION", false), "content_filter");
        assert_eq!(finish_reason("STOP", true), "tool_calls");
    }

    #[test]
    fn blocked_prompt_is_a_content_policy_error() {
        let response = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}});
        let e = completion(&response, "i", "m", 0).expect_err("blocked");
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.code.as_deref(), Some("content_policy_violation"));
    }
}
