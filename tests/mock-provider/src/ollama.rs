//! Ollama's native chat API: `POST /api/chat`, JSON or NDJSON streaming
//! (`application/x-ndjson`, one JSON object per line, the last one with
//! `"done":true` and the token counts). No authentication, as a local
//! Ollama has none.
//!
//! Replies follow `reply.rs` (echo, word-count tokens); a request offering
//! tools whose last user text mentions "weather" gets a call to each tool.

mod request;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, Fault, FaultKind, StreamFaults};
use crate::reply;
use crate::sse::SsePlan;
use request::ChatRequest;

const CREATED_AT: &str = "2025-01-01T00:00:00.000000Z";

pub fn routes() -> Router<SharedState> {
    Router::new().route("/api/chat", post(handle))
}

/// Ollama's error body, `{"error":"…"}`, with the HTTP status.
pub fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"error": message}))
}

fn fault_response(fault: &Fault, model: &str) -> Response {
    let (status, message) = match fault.kind {
        FaultKind::RateLimit => (
            fault.status,
            "mock: too many requests, retry later".to_owned(),
        ),
        FaultKind::ServerError => (
            fault.status,
            "mock: llama runner process has terminated".to_owned(),
        ),
        FaultKind::ContextLength => (
            fault.status,
            "the input length exceeds the context length".to_owned(),
        ),
        FaultKind::ContentPolicy => (
            fault.status,
            "mock: the request was refused by a content policy".to_owned(),
        ),
        FaultKind::Status => match fault.status {
            StatusCode::NOT_FOUND => (
                fault.status,
                format!("model \"{model}\" not found, try pulling it first"),
            ),
            status => (status, format!("mock: injected {status}")),
        },
    };
    let mut response = error(status, &message);
    if let Some(value) = fault
        .retry_after
        .as_deref()
        .and_then(|v| HeaderValue::try_from(v).ok())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

async fn handle(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match ChatRequest::parse(&body) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let model = request.model().to_owned();
    let injection = faults::decide(&headers, &model, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = injection.fault {
        return fault_response(&fault, &model);
    }
    let user_text = request.last_user_text();
    let tools = request.tool_names();
    let calls: Vec<Value> = if !tools.is_empty() && user_text.to_lowercase().contains("weather") {
        tools
            .iter()
            .map(|name| json!({"function": {"name": name, "arguments": {"city": "Paris"}}}))
            .collect()
    } else {
        Vec::new()
    };
    let text = if calls.is_empty() {
        reply::override_from(&headers).unwrap_or_else(|| {
            let echo = reply::echo(&user_text);
            if request.wants_json() {
                json!({"echo": echo}).to_string()
            } else {
                echo
            }
        })
    } else {
        String::new()
    };
    let prompt = request.prompt_tokens();
    let completion = if calls.is_empty() {
        reply::completion_tokens(&text)
    } else {
        5 * calls.len() as u64
    };
    let done = |message: Value| {
        json!({
            "model": model, "created_at": CREATED_AT, "message": message, "done": true,
            "done_reason": "stop", "total_duration": 1_000_000, "load_duration": 1000,
            "prompt_eval_count": prompt, "prompt_eval_duration": 1000,
            "eval_count": completion, "eval_duration": 1000,
        })
    };
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls.clone());
    }
    if !request.stream() {
        return json_response(StatusCode::OK, &done(message));
    }
    let mut plan = SsePlan::default();
    let mut line = |value: &Value| {
        plan.frames.push(Bytes::from(format!("{value}\n")));
    };
    if calls.is_empty() {
        for piece in reply::stream_pieces(&text) {
            line(&json!({"model": model, "created_at": CREATED_AT,
                "message": {"role": "assistant", "content": piece}, "done": false}));
        }
    } else {
        line(&json!({"model": model, "created_at": CREATED_AT,
            "message": {"role": "assistant", "content": "", "tool_calls": calls}, "done": false}));
    }
    line(&done(json!({"role": "assistant", "content": ""})));
    let mut response = plan.into_response(StreamFaults::from_headers(&headers));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
        .headers_mut()
        .remove(axum::http::header::CACHE_CONTROL);
    response
}
