//! Tool calls in OpenAI's format, for models whose name contains
//! `tool-calls` (other models answer text whatever the tools, as the mock
//! always did): a request offering `tools` gets a call when `tool_choice`
//! forces one (a named function, or `required`: the first tool) or, under
//! `auto`, when the last user message mentions the weather — the Anthropic
//! mock's rule, so a gateway translating between the two can be checked
//! end to end.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::DONE_FRAME;
use crate::app::json_response;
use crate::faults::StreamFaults;
use crate::reply;
use crate::sse::SsePlan;

/// The function to call and its arguments (a JSON string).
pub(super) struct ToolCall {
    name: String,
    arguments: String,
}

/// The model-name marker that turns tool calls on.
const MARKER: &str = "tool-calls";

pub(super) fn tool_call(model: &str, body: &[u8], last_user_text: &str) -> Option<ToolCall> {
    if !model.contains(MARKER) {
        return None;
    }
    let body: Value = serde_json::from_slice(body).ok()?;
    let tools = body.get("tools")?.as_array()?;
    let first = tools.first()?.get("function")?.get("name")?.as_str()?;
    let name = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => return None,
        Some(Value::String(s)) if s == "required" => first,
        Some(Value::Object(choice)) => choice.get("function")?.get("name")?.as_str()?,
        _ if last_user_text.to_lowercase().contains("weather") => first,
        _ => return None,
    };
    Some(ToolCall {
        name: name.to_string(),
        arguments: json!({"location": "Paris"}).to_string(),
    })
}

fn usage(prompt_tokens: u64, call: &ToolCall) -> Value {
    let completion = reply::completion_tokens(&call.arguments);
    json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion})
}

/// What every answer shares.
pub(super) struct Answer<'a> {
    pub id: &'a str,
    pub call_id: String,
    pub created: u64,
    pub model: &'a str,
    pub prompt_tokens: u64,
}

pub(super) fn complete(answer: &Answer<'_>, call: &ToolCall) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "id": answer.id, "object": "chat.completion", "created": answer.created, "model": answer.model,
            "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
                "role": "assistant", "content": null, "refusal": null,
                "tool_calls": [{"id": answer.call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]
            }}],
            "usage": usage(answer.prompt_tokens, call),
        }),
    )
}

/// A role chunk, the call's head (id, name, no arguments), its arguments
/// in two fragments, the finish chunk, the usage chunk when asked, `[DONE]`.
pub(super) fn stream(
    answer: &Answer<'_>,
    call: &ToolCall,
    include_usage: bool,
    faults: StreamFaults,
) -> Response {
    let mut plan = SsePlan {
        terminator: Some(Bytes::from_static(DONE_FRAME)),
        ..SsePlan::default()
    };
    let head = |choices: Value, usage: Value| {
        let mut chunk = json!({"id": answer.id, "object": "chat.completion.chunk", "created": answer.created,
                               "model": answer.model, "choices": choices});
        if include_usage {
            chunk["usage"] = usage;
        }
        chunk
    };
    let delta = |delta: Value, finish: Value| {
        head(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            Value::Null,
        )
    };
    plan.push_data(&delta(
        json!({"role": "assistant", "content": null}),
        Value::Null,
    ));
    plan.push_data(&delta(
        json!({"tool_calls": [{"index": 0, "id": answer.call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}]}),
        Value::Null,
    ));
    let mut mid = call.arguments.len() / 2;
    while !call.arguments.is_char_boundary(mid) {
        mid -= 1;
    }
    for fragment in [&call.arguments[..mid], &call.arguments[mid..]] {
        plan.push_data(&delta(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}),
            Value::Null,
        ));
    }
    plan.push_data(&delta(json!({}), json!("tool_calls")));
    if include_usage {
        plan.push_data(&head(json!([]), usage(answer.prompt_tokens, call)));
    }
    plan.into_response(faults)
}
