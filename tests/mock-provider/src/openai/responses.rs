//! `POST /v1/responses`, `GET`/`DELETE /v1/responses/{id}` and
//! `GET /v1/responses/{id}/input_items`: OpenAI's Responses API, with the
//! responses it made kept in memory so `previous_response_id` works.
//!
//! The mock's rules, so tests can compute what they expect:
//! - the reply echoes the last user message's text (`Echo: …`), or the output
//!   of a trailing `function_call_output`; `x-mock-response` overrides it;
//! - a function tool is called (arguments `{"location":"Paris"}`) when tools
//!   are offered, `tool_choice` is not `none` and the last user text mentions
//!   the weather;
//! - `input_tokens`: the words of `instructions` plus one, and for every item of
//!   the conversation (a previous response's input and output first) its words
//!   plus one; `output_tokens`: the reply's words (at least 1).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, OpenAiRequest, admit, has_bearer_key};
use crate::app::{SharedState, json_response, unix_secs};
use crate::faults::StreamFaults;
use crate::reply;
use crate::sse::SsePlan;

/// What a stored response needs to be continued: the whole conversation
/// before it, and the response itself.
struct Stored {
    input: Vec<Value>,
    response: Value,
}

fn store() -> &'static Mutex<HashMap<String, Stored>> {
    static STORE: OnceLock<Mutex<HashMap<String, Stored>>> = OnceLock::new();
    STORE.get_or_init(Mutex::default)
}

#[derive(Debug, Deserialize)]
pub(super) struct ResponsesRequest {
    #[serde(default)]
    model: String,
    #[serde(default)]
    input: Option<Value>,
}

impl OpenAiRequest for ResponsesRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn validate(&self) -> Result<(), ApiError> {
        match &self.input {
            Some(Value::String(_) | Value::Array(_)) => Ok(()),
            Some(_) => Err(ApiError::invalid_param(
                "input",
                "Invalid type for 'input': expected a string or an array of input items.",
            )),
            None => Err(ApiError::missing_param("input")),
        }
    }
}

fn texts(item: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    match item.get("content") {
        Some(Value::String(s)) => out.push(s.as_str()),
        Some(Value::Array(parts)) => {
            out.extend(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str)),
            );
        }
        _ => {}
    }
    for key in ["output", "arguments"] {
        if let Some(s) = item.get(key).and_then(Value::as_str) {
            out.push(s);
        }
    }
    out
}

fn words(item: &Value) -> u64 {
    texts(item)
        .iter()
        .map(|t| reply::word_count(t))
        .sum::<u64>()
        + 1
}

/// The reply text, or the tool call, for this conversation.
enum Reply {
    Text(String),
    Call { name: String, arguments: String },
}

fn decide(body: &Value, items: &[Value], headers: &HeaderMap) -> Reply {
    let last = items.last();
    if let Some(last) = last
        && last.get("type").and_then(Value::as_str) == Some("function_call_output")
    {
        let output = last.get("output").and_then(Value::as_str).unwrap_or("");
        return Reply::Text(reply::override_from(headers).unwrap_or_else(|| reply::echo(output)));
    }
    let user_text = items
        .iter()
        .rev()
        .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
        .map(|i| texts(i).join(" "))
        .unwrap_or_default();
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .and_then(|t| t.get("name").and_then(Value::as_str));
    let choice_none = body.get("tool_choice").and_then(Value::as_str) == Some("none");
    if let Some(name) = tool
        && !choice_none
        && user_text.to_lowercase().contains("weather")
    {
        return Reply::Call {
            name: name.to_string(),
            arguments: json!({"location": "Paris"}).to_string(),
        };
    }
    Reply::Text(reply::override_from(headers).unwrap_or_else(|| reply::echo(&user_text)))
}

pub(super) async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ResponsesRequest = admit(&state, &headers, &body).await?;
    let raw: Value = serde_json::from_slice(&body).map_err(ApiError::unparsable_body)?;
    let mut items = Vec::new();
    let previous = raw.get("previous_response_id").and_then(Value::as_str);
    if let Some(previous) = previous {
        let store = store()
            .lock()
            .map_err(|_| ApiError::invalid_request("mock store poisoned"))?;
        let Some(stored) = store.get(previous) else {
            return Err(ApiError::invalid_param(
                "previous_response_id",
                format!("Previous response with id '{previous}' not found."),
            ));
        };
        items.extend(stored.input.iter().cloned());
        if let Some(output) = stored.response.get("output").and_then(Value::as_array) {
            items.extend(output.iter().cloned());
        }
    }
    match &request.input {
        Some(Value::String(text)) => {
            items.push(json!({"type": "message", "role": "user", "content": text}))
        }
        Some(Value::Array(list)) => items.extend(list.iter().cloned()),
        _ => {}
    }
    let instructions = raw.get("instructions").and_then(Value::as_str);
    let input_tokens =
        instructions.map_or(0, |i| reply::word_count(i) + 1) + items.iter().map(words).sum::<u64>();
    let n = state.next_id();
    let id = format!("resp_mock_{n}");
    let (item, output_tokens) = match decide(&raw, &items, &headers) {
        Reply::Text(text) => (
            json!({"type": "message", "id": format!("msg_mock_{n}"), "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": []}]}),
            reply::completion_tokens(&text),
        ),
        Reply::Call { name, arguments } => {
            let tokens = reply::completion_tokens(&arguments);
            (
                json!({"type": "function_call", "id": format!("fc_mock_{n}"), "call_id": format!("call_mock_{n}"),
                       "name": name, "arguments": arguments, "status": "completed"}),
                tokens,
            )
        }
    };
    let response = json!({
        "id": id,
        "object": "response",
        "created_at": unix_secs(),
        "status": "completed",
        "error": null,
        "incomplete_details": null,
        "instructions": instructions,
        "max_output_tokens": raw.get("max_output_tokens"),
        "model": request.model,
        "output": [item],
        "parallel_tool_calls": true,
        "previous_response_id": previous,
        "reasoning": {"effort": null, "summary": null},
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": raw.get("tool_choice").cloned().unwrap_or(json!("auto")),
        "tools": raw.get("tools").cloned().unwrap_or(json!([])),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": null,
        "metadata": {},
    });
    if raw.get("store").and_then(Value::as_bool) != Some(false)
        && let Ok(mut store) = store().lock()
    {
        store.insert(
            id.clone(),
            Stored {
                input: items,
                response: response.clone(),
            },
        );
    }
    if raw.get("stream").and_then(Value::as_bool) == Some(true) {
        return Ok(stream_plan(&response)
            .into_response(StreamFaults::for_request(&headers, &request.model)));
    }
    Ok(json_response(StatusCode::OK, &response))
}

/// OpenAI's event sequence for a finished response.
fn stream_plan(response: &Value) -> SsePlan {
    let mut plan = SsePlan::default();
    let mut sequence = 0u64;
    let mut push = |plan: &mut SsePlan, mut event: Value| {
        let name = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        event["sequence_number"] = json!(sequence);
        sequence += 1;
        plan.frames
            .push(Bytes::from(format!("event: {name}\ndata: {event}\n\n")));
    };
    let mut pending = response.clone();
    pending["status"] = json!("in_progress");
    pending["output"] = json!([]);
    pending["usage"] = Value::Null;
    push(
        &mut plan,
        json!({"type": "response.created", "response": pending}),
    );
    push(
        &mut plan,
        json!({"type": "response.in_progress", "response": pending}),
    );
    let item = &response["output"][0];
    let id = item["id"].clone();
    match item["type"].as_str() {
        Some("function_call") => {
            let mut added = item.clone();
            added["arguments"] = json!("");
            added["status"] = json!("in_progress");
            push(
                &mut plan,
                json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
            );
            let arguments = item["arguments"].as_str().unwrap_or("");
            push(
                &mut plan,
                json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": 0, "delta": arguments}),
            );
            push(
                &mut plan,
                json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": 0, "arguments": arguments}),
            );
        }
        _ => {
            let mut added = item.clone();
            added["content"] = json!([]);
            added["status"] = json!("in_progress");
            push(
                &mut plan,
                json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
            );
            push(
                &mut plan,
                json!({"type": "response.content_part.added", "item_id": id, "output_index": 0, "content_index": 0,
                                   "part": {"type": "output_text", "text": "", "annotations": []}}),
            );
            let text = item["content"][0]["text"].as_str().unwrap_or("");
            for piece in reply::stream_pieces(text) {
                push(
                    &mut plan,
                    json!({"type": "response.output_text.delta", "item_id": id, "output_index": 0, "content_index": 0,
                                       "delta": piece, "logprobs": []}),
                );
            }
            push(
                &mut plan,
                json!({"type": "response.output_text.done", "item_id": id, "output_index": 0, "content_index": 0,
                                   "text": text, "logprobs": []}),
            );
            push(
                &mut plan,
                json!({"type": "response.content_part.done", "item_id": id, "output_index": 0, "content_index": 0,
                                   "part": {"type": "output_text", "text": text, "annotations": []}}),
            );
        }
    }
    push(
        &mut plan,
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
    );
    push(
        &mut plan,
        json!({"type": "response.completed", "response": response}),
    );
    plan
}

fn not_found(id: &str) -> Response {
    ApiError::not_found_message(format!("Response with id '{id}' not found.")).into_response()
}

pub(super) async fn retrieve(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !has_bearer_key(&headers) {
        return ApiError::missing_api_key().into_response();
    }
    match store()
        .lock()
        .ok()
        .and_then(|s| s.get(&id).map(|r| r.response.clone()))
    {
        Some(response) => json_response(StatusCode::OK, &response),
        None => not_found(&id),
    }
}

pub(super) async fn delete(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !has_bearer_key(&headers) {
        return ApiError::missing_api_key().into_response();
    }
    match store().lock().ok().and_then(|mut s| s.remove(&id)) {
        Some(_) => json_response(
            StatusCode::OK,
            &json!({"id": id, "object": "response", "deleted": true}),
        ),
        None => not_found(&id),
    }
}

pub(super) async fn input_items(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !has_bearer_key(&headers) {
        return ApiError::missing_api_key().into_response();
    }
    match store()
        .lock()
        .ok()
        .and_then(|s| s.get(&id).map(|r| r.input.clone()))
    {
        Some(mut items) => {
            items.reverse();
            json_response(
                StatusCode::OK,
                &json!({"object": "list", "data": items, "first_id": null, "last_id": null, "has_more": false}),
            )
        }
        None => not_found(&id),
    }
}
