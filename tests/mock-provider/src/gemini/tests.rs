//! Whole-router tests of the Gemini protocol.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};

async fn call(
    path: &str,
    key: Option<&str>,
    body: Value,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let app = router(Arc::new(AppState::new(true)));
    let mut builder = Request::post(path).header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("x-goog-api-key", key);
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Body::from(body.to_string())).expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn hello() -> Value {
    json!({"systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "hello there"}]}]})
}

#[tokio::test]
async fn generate_content_echoes_with_word_count_usage() {
    let (status, body) = call(
        "/v1beta/models/gemini-x:generateContent",
        Some("k"),
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["candidates"][0]["content"],
        json!({"parts": [{"text": "Echo: hello there"}], "role": "model"})
    );
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        body["usageMetadata"],
        json!({"promptTokenCount": 6, "candidatesTokenCount": 3, "totalTokenCount": 9})
    );
}

#[tokio::test]
async fn missing_key_is_401_in_googles_shape() {
    let (status, body) = call(
        "/v1beta/models/gemini-x:generateContent",
        None,
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["code"], 401);
}

#[tokio::test]
async fn openai_fields_are_refused_like_google_does() {
    let (status, body) = call(
        "/v1beta/models/gemini-x:generateContent",
        Some("k"),
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "messages": []}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Unknown name \\\"messages\\\""), "{body}");
    let (status, _) = call(
        "/v1beta/models/gemini-x:generateContent",
        Some("k"),
        json!({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn proto_field_names_are_accepted_as_google_does() {
    // LiteLLM sends `generation_config.max_output_tokens`; Google takes proto names too.
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_config": {"max_output_tokens": 5, "stop_sequences": ["x"]}});
    let (status, text) = call(
        "/v1beta/models/gemini-x:generateContent",
        Some("k"),
        body,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_config": {"max_output_tokenz": 5}});
    let (status, text) = call(
        "/v1beta/models/gemini-x:generateContent",
        Some("k"),
        body,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        text.contains("Unknown name \\\"maxOutputTokenz\\\""),
        "{text}"
    );
}

#[tokio::test]
async fn stream_is_sse_with_crlf_and_final_usage() {
    let (status, body) = call(
        "/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
        Some("k"),
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events: Vec<Value> = body
        .split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").expect("data line")).expect("json"))
        .collect();
    let text: String = events
        .iter()
        .map(|e| {
            e["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(text, "Echo: hello there");
    let last = events.last().expect("events");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 3);
}

#[tokio::test]
async fn weather_with_tools_calls_each_function() {
    let mut request = json!({"contents": [{"role": "user", "parts": [{"text": "weather in Paris?"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}]});
    let (_, body) = call(
        "/v1beta/models/g:generateContent",
        Some("k"),
        request.clone(),
        &[],
    )
    .await;
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "bW9jay1zaWduYXR1cmU="},
               {"functionCall": {"name": "get_time", "args": {"city": "Paris"}}}])
    );
    request["tools"] = json!([]);
    let (_, body) = call("/v1beta/models/g:generateContent", Some("k"), request, &[]).await;
    assert!(body.contains("Echo: weather in Paris?"), "{body}");
}

#[tokio::test]
async fn faults_use_googles_errors() {
    let (status, body) = call(
        "/v1beta/models/mock-429:generateContent",
        Some("k"),
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("RESOURCE_EXHAUSTED"), "{body}");
    let (status, body) = call(
        "/v1beta/models/mock-context-length:generateContent",
        Some("k"),
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("exceeds the maximum number of tokens"),
        "{body}"
    );
    let (status, body) = call(
        "/v1beta/models/mock-content-policy:generateContent",
        Some("k"),
        hello(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"blockReason\":\"SAFETY\""), "{body}");
    let (status, _) = call(
        "/v1beta/models/g:generateContent",
        Some("k"),
        hello(),
        &[("x-mock-status", "403")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
