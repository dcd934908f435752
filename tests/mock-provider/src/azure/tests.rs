//! Whole-router tests: Azure's path, auth, error shapes and scripted tool call.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};

async fn send(request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let app = router(Arc::new(AppState::new(true)));
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    (status, body)
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("json")
}

#[tokio::test]
async fn azure_path_needs_api_key_and_version() {
    let body = json!({"model": "dep", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let post = |uri: &str, key: Option<&str>| {
        let mut builder = Request::post(uri).header("content-type", "application/json");
        if let Some(key) = key {
            builder = builder.header("api-key", key);
        }
        builder.body(Body::from(body.clone())).expect("request")
    };
    let path = "/openai/deployments/dep/chat/completions";
    let (status, bytes) = send(post(&format!("{path}?api-version=2024-10-21"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(&bytes)["error"]["code"], "401");
    let (status, _) = send(post(path, Some("k"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, bytes) = send(post(&format!("{path}?api-version=2024-10-21"), Some("k"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(&bytes)["choices"][0]["message"]["content"],
        "Echo: hi"
    );
    let filtered =
        json!({"model": "mock-content-policy", "messages": [{"role": "user", "content": "hi"}]})
            .to_string();
    let request = Request::post(format!("{path}?api-version=2024-10-21"))
        .header("api-key", "k")
        .body(Body::from(filtered))
        .expect("request");
    let (status, bytes) = send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&bytes)["error"]["code"], "content_filter");
}

#[tokio::test]
async fn weather_with_tools_is_a_tool_call() {
    let body = json!({"model": "dep", "messages": [{"role": "user", "content": "weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]});
    let request = Request::post("/openai/deployments/dep/chat/completions?api-version=2024-10-21")
        .header("api-key", "k")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, bytes) = send(request).await;
    assert_eq!(status, StatusCode::OK);
    let reply = json_of(&bytes);
    assert_eq!(reply["choices"][0]["finish_reason"], "tool_calls");
    let call = &reply["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{\"location\":\"Paris\"}");
}
