//! A chat answer as a Responses API `response` object: reasoning, the
//! assistant's text and its tool calls become output items, `usage` is
//! renamed (`input_tokens`, `output_tokens`), and the request's settings are
//! echoed as OpenAI echoes them.

use crate::providers::stream::Usage;
use serde_json::{Map, Value, json};

/// Fresh item ids, OpenAI's prefixes.
pub fn item_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The response object's fields that echo the request, before output.
pub fn template(body: &Map<String, Value>, model: &str, created_at: i64) -> Map<String, Value> {
    let get = |key: &str, default: Value| {
        body.get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(default)
    };
    let effort = body
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .cloned()
        .unwrap_or(Value::Null);
    let summary = body
        .get("reasoning")
        .and_then(|r| r.get("summary"))
        .cloned()
        .unwrap_or(Value::Null);
    let object = json!({
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "error": null,
        "incomplete_details": null,
        "instructions": get("instructions", Value::Null),
        "max_output_tokens": get("max_output_tokens", Value::Null),
        "model": model,
        "output": [],
        "parallel_tool_calls": get("parallel_tool_calls", Value::Bool(true)),
        "previous_response_id": get("previous_response_id", Value::Null),
        "reasoning": {"effort": effort, "summary": summary},
        "store": get("store", Value::Bool(true)),
        "temperature": get("temperature", json!(1.0)),
        "text": get("text", json!({"format": {"type": "text"}})),
        "tool_choice": get("tool_choice", json!("auto")),
        "tools": get("tools", json!([])),
        "top_p": get("top_p", json!(1.0)),
        "truncation": get("truncation", json!("disabled")),
        "usage": null,
        "user": get("user", Value::Null),
        "metadata": get("metadata", json!({})),
    });
    match object {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// OpenAI's Responses `usage` object.
pub fn usage_json(usage: Usage) -> Value {
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    })
}

/// A finished response: status from chat's `finish_reason` (`length` is
/// OpenAI's `incomplete` with `max_output_tokens`).
pub fn finish(
    mut object: Map<String, Value>,
    output: Vec<Value>,
    usage: Option<Usage>,
    finish_reason: Option<&str>,
) -> Map<String, Value> {
    let incomplete = finish_reason == Some("length");
    object.insert(
        "status".into(),
        Value::String(
            if incomplete {
                "incomplete"
            } else {
                "completed"
            }
            .into(),
        ),
    );
    if incomplete {
        object.insert(
            "incomplete_details".into(),
            json!({"reason": "max_output_tokens"}),
        );
    } else if finish_reason == Some("content_filter") {
        object.insert("status".into(), json!("incomplete"));
        object.insert(
            "incomplete_details".into(),
            json!({"reason": "content_filter"}),
        );
    }
    object.insert("output".into(), Value::Array(output));
    object.insert("usage".into(), usage.map_or(Value::Null, usage_json));
    object
}

pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "type": "function_call",
        "id": id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

pub fn reasoning_item(id: &str, text: &str) -> Value {
    json!({
        "type": "reasoning",
        "id": id,
        "summary": [{"type": "summary_text", "text": text}],
    })
}

/// The output items of a `chat.completion` body, and its finish reason.
pub fn output_of_chat(chat: &Value) -> (Vec<Value>, Option<String>) {
    let choice = chat.get("choices").and_then(|c| c.get(0));
    let message = choice.and_then(|c| c.get("message"));
    let finish_reason = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut output = Vec::new();
    let Some(message) = message else {
        return (output, finish_reason);
    };
    if let Some(reasoning) = message
        .get("reasoning_content")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        output.push(reasoning_item(&item_id("rs"), reasoning));
    }
    if let Some(text) = message
        .get("content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        output.push(message_item(&item_id("msg"), text, "completed"));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let function = call.get("function");
        let field = |v: Option<&Value>, key: &str| {
            v.and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let call_id = call
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| item_id("call"), str::to_string);
        output.push(function_call_item(
            &item_id("fc"),
            &call_id,
            &field(function, "name"),
            &field(function, "arguments"),
            "completed",
        ));
    }
    (output, finish_reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_answers_become_output_items() {
        let chat = json!({"choices": [{"message": {
            "role": "assistant", "content": "Checking.", "reasoning_content": "think",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        }, "finish_reason": "tool_calls"}]});
        let (output, finish) = output_of_chat(&chat);
        assert_eq!(finish.as_deref(), Some("tool_calls"));
        let kinds: Vec<_> = output
            .iter()
            .map(|o| o["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(kinds, ["reasoning", "message", "function_call"]);
        assert_eq!(output[1]["content"][0]["text"], "Checking.");
        assert_eq!(output[2]["call_id"], "call_1");
        assert_eq!(output[2]["name"], "f");
    }

    #[test]
    fn a_length_stop_is_incomplete() {
        let t = template(&Map::new(), "g", 1);
        let done = finish(
            t,
            vec![],
            Some(Usage {
                prompt_tokens: 2,
                completion_tokens: 3,
                cached_tokens: 0,
            }),
            Some("length"),
        );
        assert_eq!(done["status"], "incomplete");
        assert_eq!(done["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(done["usage"]["total_tokens"], 5);
    }
}
