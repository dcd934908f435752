//! Whole-router tests: Anthropic requests in, exact Anthropic wire bytes out.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};

async fn send(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let app = router(Arc::new(AppState::new(true)));
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    (status, headers, body)
}

fn messages(body: &Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post("/v1/messages").header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

const AUTH: [(&str, &str); 2] = [("x-api-key", "sk-ant"), ("anthropic-version", "2023-06-01")];

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("json")
}

#[tokio::test]
async fn answers_in_anthropic_shape() {
    let body = json!({"model": "claude-x", "max_tokens": 10, "system": [{"type": "text", "text": "be brief"}],
                      "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]});
    let (status, _, bytes) = send(messages(&body, &AUTH)).await;
    assert_eq!(status, StatusCode::OK);
    let reply = json_of(&bytes);
    assert_eq!(reply["type"], "message");
    assert_eq!(
        reply["content"],
        json!([{"type": "text", "text": "Echo: hello there"}])
    );
    assert_eq!(reply["stop_reason"], "end_turn");
    // system: 2 words + 1; user: 2 words + 1.
    assert_eq!(reply["usage"]["input_tokens"], 6);
    assert_eq!(reply["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn auth_and_version_headers_are_required() {
    let body = json!({"model": "m", "max_tokens": 1, "messages": []});
    let (status, _, bytes) = send(messages(&body, &[("anthropic-version", "2023-06-01")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(&bytes),
        json!({"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}})
    );
    let (status, _, _) = send(messages(&body, &[("x-api-key", "k")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn openai_fields_and_bad_blocks_are_refused() {
    for body in [
        json!({"model": "m", "max_tokens": 1, "messages": [], "seed": 1}),
        json!({"model": "m", "messages": []}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "AA"}}]}]}),
    ] {
        let (status, _, bytes) = send(messages(&body, &AUTH)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json_of(&bytes)["error"]["type"], "invalid_request_error");
    }
}

#[tokio::test]
async fn faults_use_anthropic_errors() {
    let body = |model: &str| json!({"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]});
    let (status, headers, bytes) = send(messages(&body("mock-429"), &AUTH)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(json_of(&bytes)["error"]["type"], "rate_limit_error");
    let (status, _, bytes) = send(messages(&body("mock-context-length"), &AUTH)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json_of(&bytes)["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("prompt is too long")
    );
    let mut with_status = AUTH.to_vec();
    with_status.push(("x-mock-status", "529"));
    let (status, _, bytes) = send(messages(&body("m"), &with_status)).await;
    assert_eq!(status.as_u16(), 529);
    assert_eq!(json_of(&bytes)["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn weather_with_tools_calls_a_tool_and_streams_it() {
    let body = json!({"model": "m", "max_tokens": 50, "stream": true,
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "What is the weather?"}]});
    let (status, headers, bytes) = send(messages(&body, &AUTH)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    let text = String::from_utf8(bytes).expect("utf-8");
    let events: Vec<(&str, Value)> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (event, data) = e.split_once('\n').expect("two lines");
            let event = event.strip_prefix("event: ").expect("event line");
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").expect("data line"))
                .expect("json");
            assert_eq!(data["type"], event);
            (event, data)
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[1].1["content_block"]["name"], "get_weather");
    let arguments: String = events
        .iter()
        .filter_map(|e| e.1["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).expect("json"),
        json!({"location": "Paris"})
    );
    assert_eq!(events[6].1["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn extended_thinking_answers_with_a_thinking_block_first() {
    let body = json!({"model": "m", "max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024},
                      "messages": [{"role": "user", "content": "think"}]});
    let (status, _, bytes) = send(messages(&body, &AUTH)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(&bytes)["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think about that.", "signature": "mock-signature"},
            {"type": "text", "text": "Echo: think"}
        ])
    );
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let (_, _, bytes) = send(messages(&streamed, &AUTH)).await;
    let text = String::from_utf8(bytes).expect("utf-8");
    let data: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.split_once("\ndata: "))
        .map(|(_, d)| serde_json::from_str(d).expect("json"))
        .collect();
    assert_eq!(data[1]["content_block"]["type"], "thinking");
    assert_eq!(data[2]["delta"]["thinking"], "Let me think about that.");
    assert_eq!(data[3]["delta"]["type"], "signature_delta");
    assert_eq!(data[5]["content_block"]["type"], "text");
    assert_eq!(data[5]["index"], 1);
}
