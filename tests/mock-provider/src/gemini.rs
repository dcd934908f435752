//! Google AI Studio's Gemini API: `POST /v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, authenticated by `x-goog-api-key`.
//!
//! Replies follow the shared rules of `reply.rs` (echo, word-count tokens);
//! a request offering functions whose last user text mentions "weather" gets
//! a call to each declared function, so gateways can test tool calls.

mod embed;
mod error;
mod request;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, FaultKind, StreamFaults};
use crate::reply;
use crate::sse::SsePlan;
use error::GoogleError;
use request::GenerateRequest;

pub const API_KEY_HEADER: &str = "x-goog-api-key";
/// The opaque signature the mock attaches to the first function call.
pub const THOUGHT_SIGNATURE: &str = "bW9jay1zaWduYXR1cmU=";

pub fn routes() -> Router<SharedState> {
    Router::new().route("/v1beta/models/{model_action}", post(handle))
}

async fn handle(
    State(state): State<SharedState>,
    Path(model_action): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match serve(&state, &model_action, query.as_deref(), &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn serve(
    state: &SharedState,
    model_action: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GoogleError> {
    let (model, stream) = match model_action.rsplit_once(':') {
        Some((model, "generateContent")) => (model, false),
        Some((model, "streamGenerateContent")) => (model, true),
        Some((_, "batchEmbedContents")) => ("", false),
        _ => return Err(GoogleError::not_found(&format!("models/{model_action}"))),
    };
    let has_key = headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !has_key {
        return Err(GoogleError::unauthenticated());
    }
    if let Some((model, "batchEmbedContents")) = model_action.rsplit_once(':') {
        return embed::batch_embed(state, model, headers, body);
    }
    if stream && query != Some("alt=sse") {
        return Err(GoogleError::invalid(
            "mock: streamGenerateContent is served as server-sent events only (?alt=sse)",
        ));
    }
    let request = GenerateRequest::parse(body)?;
    let injection = faults::decide(headers, model, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    let response_id = format!("mock-gemini-{}", state.next_id());
    if let Some(fault) = injection.fault {
        if fault.kind == FaultKind::ContentPolicy {
            // Google refuses a prompt with a 200 and no candidate.
            let blocked = json!({
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": request.prompt_tokens(), "totalTokenCount": request.prompt_tokens()},
                "modelVersion": model,
                "responseId": response_id,
            });
            return Ok(if stream {
                let mut plan = SsePlan::default();
                push_event(&mut plan, &blocked);
                plan.into_response(StreamFaults::from_headers(headers))
            } else {
                json_response(StatusCode::OK, &blocked)
            });
        }
        return Err(GoogleError::from_fault(&fault, model));
    }
    let answer = Answer::for_request(&request, headers);
    let prompt = request.prompt_tokens();
    let candidates = request.candidate_count();
    let completion = answer.tokens() * candidates;
    let usage = json!({"promptTokenCount": prompt, "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion});
    if !stream {
        let parts = answer.parts(&answer.text);
        let body = json!({
            "candidates": candidate_list(candidates, &parts, Some("STOP")),
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": response_id,
        });
        return Ok(json_response(StatusCode::OK, &body));
    }
    let mut plan = SsePlan::default();
    let pieces: Vec<&str> = if answer.calls.is_empty() {
        reply::stream_pieces(&answer.text)
    } else {
        Vec::new()
    };
    let last = pieces.len().saturating_sub(1);
    if pieces.is_empty() {
        let event = json!({
            "candidates": candidate_list(candidates, &answer.parts(&answer.text), Some("STOP")),
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": response_id,
        });
        push_event(&mut plan, &event);
    }
    for (i, piece) in pieces.iter().enumerate() {
        let is_last = i == last;
        let event = json!({
            "candidates": candidate_list(candidates, &[json!({"text": piece})], is_last.then_some("STOP")),
            "usageMetadata": if is_last { usage.clone() } else {
                json!({"promptTokenCount": prompt, "totalTokenCount": prompt})
            },
            "modelVersion": model,
            "responseId": response_id,
        });
        push_event(&mut plan, &event);
    }
    Ok(plan.into_response(StreamFaults::from_headers(headers)))
}

/// Google frames events as `data: <json>\r\n\r\n`.
fn push_event(plan: &mut SsePlan, event: &Value) {
    plan.frames
        .push(Bytes::from(format!("data: {event}\r\n\r\n")));
}

fn candidate_list(count: u64, parts: &[Value], finish: Option<&str>) -> Vec<Value> {
    (0..count)
        .map(|index| {
            let mut candidate =
                json!({"content": {"parts": parts, "role": "model"}, "index": index});
            if let Some(reason) = finish {
                candidate["finishReason"] = json!(reason);
            }
            candidate
        })
        .collect()
}

/// What the model "says": text, or function calls.
struct Answer {
    text: String,
    calls: Vec<String>,
}

impl Answer {
    fn for_request(request: &GenerateRequest, headers: &HeaderMap) -> Self {
        let user_text = request.last_user_text();
        let functions = request.function_names();
        if !functions.is_empty() && user_text.to_lowercase().contains("weather") {
            return Self {
                text: String::new(),
                calls: functions,
            };
        }
        let text = reply::override_from(headers).unwrap_or_else(|| {
            let echo = reply::echo(&user_text);
            if request.wants_json() {
                json!({"echo": echo}).to_string()
            } else {
                echo
            }
        });
        Self {
            text,
            calls: Vec::new(),
        }
    }

    fn tokens(&self) -> u64 {
        if self.calls.is_empty() {
            reply::completion_tokens(&self.text)
        } else {
            5 * self.calls.len() as u64
        }
    }

    fn parts(&self, text: &str) -> Vec<Value> {
        if self.calls.is_empty() {
            return vec![json!({"text": text})];
        }
        // As Gemini 3 does, the first call carries the thought signature the
        // client must send back with it.
        self.calls
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut part = json!({"functionCall": {"name": name, "args": {"city": "Paris"}}});
                if i == 0 {
                    part["thoughtSignature"] = json!(THOUGHT_SIGNATURE);
                }
                part
            })
            .collect()
    }
}
