//! Whole-router tests: requests in, exact OpenAI wire bytes out.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

fn app() -> (Arc<AppState>, Router) {
    let state = Arc::new(AppState::new(true));
    (state.clone(), router(state))
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("complete body")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn post(path: &str) -> axum::http::request::Builder {
    Request::post(path)
        .header("authorization", "Bearer sk-test")
        .header("content-type", "application/json")
}

async fn post_json(app: &Router, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
    let mut builder = post(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Body::from(body.to_string()))
        .expect("valid request");
    send(app, request).await
}

fn chat_body(text: &str) -> Value {
    json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": text},
    ]})
}

#[tokio::test]
async fn chat_completion_has_openai_shape() {
    let (_, app) = app();
    let reply = post_json(&app, "/v1/chat/completions", chat_body("hello there"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let mut body = reply.json();
    assert!(body["created"].is_u64());
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "chatcmpl-mock-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o",
            "system_fingerprint": "fp_mock",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Echo: hello there", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            // (2 words + 1) + (2 words + 1) prompt; "Echo: hello there" is 3 words.
            "usage": {"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9},
        })
    );
}

#[tokio::test]
async fn routes_answer_without_v1_prefix_and_override_reply() {
    let (_, app) = app();
    let reply = post_json(
        &app,
        "/chat/completions",
        chat_body("x"),
        &[("x-mock-response", "forced reply")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        "forced reply"
    );
    assert_eq!(reply.json()["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn missing_or_empty_key_is_401() {
    let (_, app) = app();
    for auth in [None, Some("Bearer "), Some("Basic abc")] {
        let mut builder = Request::post("/v1/chat/completions");
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        let request = builder
            .body(Body::from(chat_body("x").to_string()))
            .expect("valid request");
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(reply.json()["error"]["code"], "invalid_api_key");
    }
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let (_, app) = app();
    let cases = [
        "not json",
        r#"{"messages": []}"#,
        r#"{"model": "m"}"#,
        r#"{"model": 3, "messages": []}"#,
        r#"{"model": "m", "messages": "hi"}"#,
    ];
    for raw in cases {
        let request = post("/v1/chat/completions")
            .body(Body::from(raw))
            .expect("valid request");
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{raw}");
        let error = &reply.json()["error"];
        assert_eq!(error["type"], "invalid_request_error", "{raw}");
        assert!(error["message"].is_string());
        assert!(error.get("param").is_some() && error.get("code").is_some());
    }
}

#[tokio::test]
async fn stream_with_usage_is_well_formed_sse() {
    let (_, app) = app();
    let mut body = chat_body("one two");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let reply = post_json(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/event-stream");

    let events: Vec<&str> = reply
        .text()
        .split_terminator("\n\n")
        .map(|event| event.strip_prefix("data: ").expect("data event"))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).expect("JSON chunk"))
        .collect();
    // role, "Echo:", " one", " two", finish, usage
    assert_eq!(chunks.len(), 6);
    let usage = &chunks[5];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9})
    );
}

#[tokio::test]
async fn broken_stream_ends_with_error() {
    let (_, app) = app();
    let mut body = chat_body("one two three");
    body["stream"] = json!(true);
    let request = post("/v1/chat/completions")
        .header("x-mock-fail-after-chunks", "2")
        .body(Body::from(body.to_string()))
        .expect("valid request");
    let response = app.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let result = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    assert!(result.is_err(), "a broken stream must not complete");
}

#[tokio::test]
async fn injected_faults_have_openai_bodies() {
    let (_, app) = app();
    let mut body = chat_body("x");
    body["model"] = json!("mock-429");
    let reply = post_json(
        &app,
        "/v1/chat/completions",
        body,
        &[("x-mock-retry-after", "4")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers["retry-after"], "4");
    assert_eq!(reply.json()["error"]["code"], "rate_limit_exceeded");

    let mut body = chat_body("x");
    body["model"] = json!("mock-context-length");
    let reply = post_json(&app, "/v1/chat/completions", body, &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json(),
        json!({"error": {
            "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }})
    );

    let reply = post_json(
        &app,
        "/v1/embeddings",
        json!({"model": "e", "input": "x"}),
        &[("x-mock-status", "500")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        reply.json(),
        json!({"error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": null,
            "code": null,
        }})
    );
}

#[tokio::test]
async fn scripted_faults_fail_then_recover_and_are_recorded() {
    let (state, app) = app();
    let rule = json!({"model": "gpt-4o", "status": 503, "times": 2, "retry_after": 3});
    let request = Request::post("/__mock/faults")
        .body(Body::from(rule.to_string()))
        .expect("valid request");
    assert_eq!(send(&app, request).await.status, StatusCode::CREATED);

    let listed = send(
        &app,
        Request::get("/__mock/faults")
            .body(Body::empty())
            .expect("valid request"),
    )
    .await;
    assert_eq!(listed.json()["faults"][0]["times"], 2);

    for _ in 0..2 {
        let reply = post_json(&app, "/v1/chat/completions", chat_body("x"), &[]).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers["retry-after"], "3");
        assert_eq!(reply.json()["error"]["type"], "server_error");
    }
    let reply = post_json(&app, "/v1/chat/completions", chat_body("x"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);

    let recorder = state.recorder.as_ref().expect("recording on");
    let log = recorder.snapshot(Some("/v1/chat/completions"));
    assert_eq!(log.len(), 3, "failed attempts are recorded too");
    assert_eq!(log[0].headers["authorization"], "Bearer sk-test");
    assert_eq!(
        log[0].body.as_ref().map(|b| &b["model"]),
        Some(&json!("gpt-4o"))
    );
    assert!(recorder.snapshot(Some("/__mock/faults")).is_empty());

    let listed = send(
        &app,
        Request::get("/__mock/requests?path=/v1/chat/completions")
            .body(Body::empty())
            .expect("valid request"),
    )
    .await;
    let requests = &listed.json()["requests"];
    assert_eq!(requests.as_array().map(Vec::len), Some(3));
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["raw_body"], Value::Null);

    let cleared = send(
        &app,
        Request::delete("/__mock/requests")
            .body(Body::empty())
            .expect("valid request"),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert!(recorder.snapshot(None).is_empty());
}

#[tokio::test]
async fn legacy_completion_shape() {
    let (_, app) = app();
    let reply = post_json(
        &app,
        "/v1/completions",
        json!({"model": "m", "prompt": "Say this"}),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut body = reply.json();
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "cmpl-mock-1",
            "object": "text_completion",
            "created": 0,
            "model": "m",
            "choices": [{"text": "Echo: Say this", "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        })
    );
}

#[tokio::test]
async fn embeddings_float_and_base64_agree() {
    let (_, app) = app();
    let float = post_json(
        &app,
        "/v1/embeddings",
        json!({"model": "e", "input": ["a b", "c"], "dimensions": 4}),
        &[],
    )
    .await
    .json();
    assert_eq!(float["object"], "list");
    assert_eq!(float["model"], "e");
    assert_eq!(
        float["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    assert_eq!(float["data"][1]["index"], 1);
    assert_eq!(float["data"][0]["object"], "embedding");
    let vector: Vec<f32> =
        serde_json::from_value(float["data"][0]["embedding"].clone()).expect("floats");
    assert_eq!(vector.len(), 4);

    let encoded = post_json(
        &app,
        "/v1/embeddings",
        json!({"model": "e", "input": "a b", "dimensions": 4, "encoding_format": "base64"}),
        &[],
    )
    .await
    .json();
    assert_eq!(
        encoded["data"][0]["embedding"],
        crate::base64::encode_f32_le(&vector)
    );
}

#[tokio::test]
async fn models_health_and_unknown_paths() {
    let (_, app) = app();
    let get = |path: &str| {
        Request::get(path)
            .body(Body::empty())
            .expect("valid request")
    };
    let models = send(&app, get("/v1/models")).await;
    assert_eq!(
        models.json(),
        json!({"object": "list", "data": [{"id": "mock-gpt", "object": "model", "created": 1_700_000_000, "owned_by": "mock"}]})
    );
    assert_eq!(send(&app, get("/models")).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, get("/__mock/health")).await.json(),
        json!({"status": "ok"})
    );
    let missing = send(&app, get("/v1/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json()["error"]["message"],
        "Invalid URL (GET /v1/nope)"
    );
}

#[tokio::test]
async fn no_record_mode_keeps_no_log() {
    let state = Arc::new(AppState::new(false));
    let app = router(state);
    let reply = post_json(&app, "/v1/chat/completions", chat_body("x"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let listed = send(
        &app,
        Request::get("/__mock/requests")
            .body(Body::empty())
            .expect("valid request"),
    )
    .await;
    assert_eq!(listed.json(), json!({"requests": []}));
}
