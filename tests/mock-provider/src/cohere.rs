//! Cohere's v2 Chat API: `POST /v2/chat` with `Authorization: Bearer`,
//! answered as Cohere does — the message, `finish_reason` and `usage`
//! (`billed_units` and `tokens`), or its SSE stream (`message-start`,
//! `content-start`, `content-delta`…, `content-end`, `message-end` with the
//! usage in its `delta`). Errors are Cohere's `{"message"}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, StreamFaults};
use crate::reply;
use crate::sse::SsePlan;

/// The tokens Cohere's prompt template adds to what the model reads (never billed).
const PROMPT_TEMPLATE_TOKENS: u64 = 66;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/v2/chat", post(chat))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "message": message.into() }))
}

/// The last user message's text and the mock's token count of the prompt
/// (words + 1 per message, as every other mock format).
fn read(body: &Value) -> Result<(String, String, u64), String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("invalid request: model must be a string")?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("invalid request: messages must be a non-empty list")?;
    let mut tokens = 0;
    let mut last = String::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if !matches!(role, "user" | "assistant" | "system" | "tool") {
            return Err(format!("invalid request: messages[{i}].role is invalid"));
        }
        let text = match message.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            _ => {
                return Err(format!(
                    "invalid request: messages[{i}].content is required"
                ));
            }
        };
        tokens += reply::word_count(&text) + 1;
        if role == "user" {
            last = text;
        }
    }
    Ok((model.to_string(), last, tokens))
}

async fn chat(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty());
    if !bearer {
        return error(StatusCode::UNAUTHORIZED, "no api key supplied");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid request: body must be JSON",
        );
    };
    let (model, last, input_tokens) = match read(&body) {
        Ok(read) => read,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let injection = faults::decide(&headers, &model, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = injection.fault {
        return error(fault.status, format!("mock: injected {}", fault.status));
    }
    let text = reply::echo(&last);
    let output_tokens = reply::completion_tokens(&text);
    // As Cohere: `tokens` is what the model read, its prompt template
    // included; `billed_units` is what is charged (the client's text).
    let usage = json!({
        "billed_units": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        "tokens": {"input_tokens": input_tokens + PROMPT_TEMPLATE_TOKENS, "output_tokens": output_tokens},
    });
    let id = format!("mock-cohere-chat-{}", state.next_id());
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        return json_response(
            StatusCode::OK,
            &json!({
                "id": id,
                "finish_reason": "COMPLETE",
                "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
                "usage": usage,
            }),
        );
    }
    let mut plan = SsePlan::default();
    let mut push = |event: Value| {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        plan.frames
            .push(Bytes::from(format!("event: {kind}\ndata: {event}\n\n")));
    };
    push(json!({"type": "message-start", "id": id,
        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}));
    push(json!({"type": "content-start", "index": 0,
        "delta": {"message": {"content": {"type": "text", "text": ""}}}}));
    for piece in reply::stream_pieces(&text) {
        push(json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"text": piece}}}}));
    }
    push(json!({"type": "content-end", "index": 0}));
    push(json!({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}}));
    plan.into_response(StreamFaults::for_request(&headers, &model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_read_and_counted() {
        let body = json!({"model": "command-r", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hello there"}]},
        ]});
        assert_eq!(
            read(&body),
            Ok(("command-r".into(), "hello there".into(), 6))
        );
        assert!(read(&json!({"model": "command-r", "messages": []})).is_err());
        assert!(read(&json!({"messages": [{"role": "user", "content": "x"}]})).is_err());
    }
}
