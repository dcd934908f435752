//! Ollama's native embeddings endpoint, `POST /api/embed`
//! (`{"model","input","dimensions"?}` → `{"model","embeddings":[[...]],…}`),
//! errors as `{"error": "…"}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, FaultKind};
use crate::ollama::error;
use crate::reply;

/// Vectors have this many dimensions unless the request asks (as the OpenAI mock).
const DEFAULT_DIMENSIONS: usize = 8;
const MAX_DIMENSIONS: u64 = 16_384;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/api/embed", post(handle))
}

async fn handle(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid character in request body");
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if model.is_empty() {
        return error(StatusCode::BAD_REQUEST, "model is required");
    }
    let texts: Vec<&str> = match body.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => {
            match items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                Some(texts) => texts,
                None => return error(StatusCode::BAD_REQUEST, "invalid input type"),
            }
        }
        _ => return error(StatusCode::BAD_REQUEST, "invalid input type"),
    };
    let dimensions = match body.get("dimensions") {
        None => DEFAULT_DIMENSIONS,
        Some(d) => match d.as_u64() {
            Some(n @ 1..=MAX_DIMENSIONS) => n as usize,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "dimensions must be a positive integer",
                );
            }
        },
    };
    let injection = faults::decide(&headers, model, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = injection.fault {
        let message = match fault.kind {
            FaultKind::RateLimit => "mock: too many requests, retry later".to_string(),
            FaultKind::ContextLength => "the input length exceeds the context length".to_string(),
            _ => format!("mock: injected {}", fault.status),
        };
        let mut response = error(fault.status, &message);
        if let Some(value) = fault
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::try_from(v).ok())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        return response;
    }
    let embeddings: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| reply::embedding_vector(t.as_bytes(), dimensions))
        .collect();
    let tokens: u64 = texts.iter().map(|t| reply::word_count(t)).sum();
    json_response(
        StatusCode::OK,
        &json!({
            "model": model,
            "embeddings": embeddings,
            "total_duration": 1000,
            "load_duration": 100,
            "prompt_eval_count": tokens,
        }),
    )
}
