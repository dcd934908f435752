//! Whole-router tests of the Ollama protocol.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};

async fn call(body: Value, extra: &[(&str, &str)]) -> (StatusCode, String, String) {
    let app = router(Arc::new(AppState::new(true)));
    let mut builder = Request::post("/api/chat").header("content-type", "application/json");
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let response = app
        .oneshot(builder.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn chat_echoes_with_counts() {
    let (status, _, body) = call(
        json!({"model": "llama3.2", "stream": false,
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}]}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["message"],
        json!({"role": "assistant", "content": "Echo: hello there"})
    );
    assert_eq!(
        (
            body["prompt_eval_count"].as_u64(),
            body["eval_count"].as_u64()
        ),
        (Some(6), Some(3))
    );
    assert_eq!(body["done_reason"], "stop");
}

#[tokio::test]
async fn stream_is_ndjson_ending_with_done() {
    let (status, content_type, body) = call(
        json!({"model": "llama3.2", "messages": [{"role": "user", "content": "a b c"}]}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let text: String = lines
        .iter()
        .map(|l| l["message"]["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(text, "Echo: a b c");
    let last = lines.last().expect("lines");
    assert_eq!(last["done"], true);
    assert_eq!(last["eval_count"], 4);
    assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false));
}

#[tokio::test]
async fn openai_shapes_are_refused() {
    let (status, _, body) = call(
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("cannot unmarshal array"), "{body}");
    let (status, _, _) = call(json!({"model": "m", "messages": [], "max_tokens": 5}), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn weather_with_tools_calls_them_and_faults_use_ollamas_errors() {
    let (_, _, body) = call(
        json!({"model": "m", "stream": false, "messages": [{"role": "user", "content": "weather?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather"}}]}),
        &[],
    )
    .await;
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["message"]["tool_calls"],
        json!([{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}])
    );
    let (status, _, body) =
        call(json!({"model": "mock-context-length", "messages": []}), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"the input length exceeds the context length"}"#
    );
    let (status, _, body) = call(
        json!({"model": "x", "messages": []}),
        &[("x-mock-status", "404")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("not found, try pulling it first"), "{body}");
}
