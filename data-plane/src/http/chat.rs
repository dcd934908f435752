//! `POST /v1/chat/completions`: authenticate, validate, route, call, relay,
//! account. All state comes from the runtime loaded once at the start.

use super::AppState;
use super::MAX_BODY_BYTES;
use super::auth::authenticate;
use super::error::ApiError;
use crate::providers::stream::Usage;
use crate::providers::{ChatReply, MockUpstream, OpenAiUpstream, Upstream, relay_sse};
use crate::runtime::{Deployment, GATEWAY_ONLY_PARAMS};
use crate::usage::Accounting;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use tracing::Instrument;

const CALL_TYPE: &str = "acompletion";

pub async fn chat_completions(State(app): State<AppState>, request: Request) -> Response {
    // Taking the request whole moves the headers instead of cloning them.
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "Request body is too large (the limit is 32 MiB) or could not be read.",
            )
            .into_response();
        }
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("chat_completion", request_id = %request_id, model = tracing::field::Empty);
    async move {
        match handle(app, headers, body, request_id.clone()).await {
            Ok(response) => response,
            Err(error) => {
                let mut response = error.into_response();
                set_header(&mut response, "x-litellm-call-id", &request_id);
                response
            }
        }
    }
    .instrument(span)
    .await
}

/// The fields of a chat request Tollgate itself reads; the rest is
/// forwarded untouched.
struct ChatRequest {
    model: String,
    stream: bool,
    include_usage: bool,
    end_user: Option<String>,
    body: Map<String, Value>,
}

fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            format!("Request body is not valid JSON: {e}. Send a JSON object such as {{\"model\": \"gpt-4o\", \"messages\": [...]}}."),
            None,
        )
    })?;
    let Value::Object(body) = value else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object.",
            None,
        ));
    };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "`model` is required and must be a string. Call `/v1/models` to see the models available to your key.",
                Some("model"),
            ));
        }
    };
    match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => {}
        _ => {
            return Err(ApiError::bad_request(
                "`messages` is required and must be a non-empty array of {\"role\", \"content\"} objects.",
                Some("messages"),
            ));
        }
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`stream` must be true or false.",
                Some("stream"),
            ));
        }
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let end_user = body.get("user").and_then(Value::as_str).map(str::to_string);
    Ok(ChatRequest {
        model,
        stream,
        include_usage,
        end_user,
        body,
    })
}

async fn handle(
    app: AppState,
    headers: HeaderMap,
    body: Bytes,
    request_id: String,
) -> Result<Response, ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let key_hash = authenticate(&headers, &runtime)?;
    let request = parse(&body)?;
    tracing::Span::current().record("model", request.model.as_str());

    let group = runtime.group(&request.model).ok_or_else(|| {
        ApiError::bad_request(
            format!(
                "Invalid model name passed in model={}. Call `/v1/models` to view available models for your key.",
                request.model
            ),
            Some("model"),
        )
    })?;
    let deployment = Arc::clone(group.pick().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            format!("Model group {} has no deployments.", group.name),
        )
    })?);

    let mut accounting =
        Accounting::start(app.usage.clone(), request_id, CALL_TYPE, key_hash.to_hex());
    accounting.set_route(
        &group.name,
        &deployment.id,
        deployment.provider,
        deployment.upstream.api_base(),
    );
    accounting.set_stream(request.stream);
    if let Some(user) = &request.end_user {
        accounting.set_end_user(user);
    }

    let result = match &deployment.upstream {
        Upstream::Mock(mock) => Ok(mock_response(mock, &request, &deployment, accounting)),
        Upstream::OpenAi(upstream) => {
            call_openai(&app, upstream, request, &deployment, accounting).await
        }
        Upstream::Unsupported(kind) => {
            let error = ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented_error",
                format!(
                    "Model {} is served by provider `{}`, which this Tollgate version cannot call yet.",
                    group.name,
                    kind.as_str()
                ),
            );
            accounting.fail_with(error.status.as_u16(), error.kind());
            Err(error)
        }
    };
    let mut response = result?;
    let api_base = deployment.upstream.api_base();
    set_header(&mut response, "x-litellm-model-id", &deployment.id);
    set_header(&mut response, "x-litellm-model-group", &group.name);
    if !api_base.is_empty() {
        set_header(&mut response, "x-litellm-model-api-base", api_base);
    }
    Ok(response)
}

fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
}

fn upstream_body(
    mut request: Map<String, Value>,
    deployment: &Deployment,
) -> Result<Vec<u8>, ApiError> {
    request.insert(
        "model".into(),
        Value::String(deployment.upstream_model.clone()),
    );
    for key in GATEWAY_ONLY_PARAMS {
        request.remove(key);
    }
    for (key, value) in &deployment.default_params {
        request.entry(key.clone()).or_insert_with(|| value.clone());
    }
    serde_json::to_vec(&request)
        .map_err(|e| ApiError::bad_request(format!("cannot encode request: {e}"), None))
}

async fn call_openai(
    app: &AppState,
    upstream: &OpenAiUpstream,
    request: ChatRequest,
    deployment: &Deployment,
    accounting: Accounting,
) -> Result<Response, ApiError> {
    let stream = request.stream;
    let call_id = accounting.request_id().to_string();
    let body = upstream_body(request.body, deployment)?;
    let reply = upstream
        .chat(
            &app.client,
            body,
            stream,
            deployment.timeout,
            deployment.stream_timeout,
        )
        .await;
    let mut response = match reply {
        Err(e) => {
            accounting.fail_with(e.status.as_u16(), &e.kind);
            return Err(e.into());
        }
        Ok(ChatReply::Stream(body)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            Body::from_stream(relay_sse(body, accounting)),
        )
            .into_response(),
        Ok(ChatReply::Complete(bytes)) => {
            #[derive(Deserialize)]
            struct WithUsage {
                usage: Option<Usage>,
            }
            let usage = serde_json::from_slice::<WithUsage>(&bytes)
                .ok()
                .and_then(|r| r.usage)
                .unwrap_or_default();
            accounting.succeed(usage);
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response()
        }
    };
    set_header(&mut response, "x-litellm-call-id", &call_id);
    Ok(response)
}

fn mock_response(
    mock: &MockUpstream,
    request: &ChatRequest,
    deployment: &Deployment,
    accounting: Accounting,
) -> Response {
    let id = format!("chatcmpl-{}", accounting.request_id());
    let call_id = accounting.request_id().to_string();
    let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let prompt_tokens = prompt_words(&request.body);
    let usage = Usage {
        prompt_tokens,
        completion_tokens: mock.completion_tokens(),
    };
    let mut response = if request.stream {
        let events = mock.stream_events(
            &id,
            &deployment.model_name,
            created,
            prompt_tokens,
            request.include_usage,
        );
        let body = Body::from_stream(futures::stream::iter(
            events.into_iter().map(Ok::<_, std::convert::Infallible>),
        ));
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            mock.response(&id, &deployment.model_name, created, prompt_tokens),
        )
            .into_response()
    };
    accounting.succeed(usage);
    set_header(&mut response, "x-litellm-call-id", &call_id);
    response
}

/// A rough prompt size for mock answers (real providers report their own).
fn prompt_words(body: &Map<String, Value>) -> u64 {
    let Some(Value::Array(messages)) = body.get("messages") else {
        return 0;
    };
    let words: usize = messages
        .iter()
        .map(|m| match m.get("content") {
            Some(Value::String(s)) => s.split_whitespace().count() + 1,
            Some(Value::Array(parts)) => {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .map(|t| t.split_whitespace().count())
                    .sum::<usize>()
                    + 1
            }
            _ => 1,
        })
        .sum();
    u64::try_from(words).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = parse(b"{not json").err().expect("invalid json");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.body.error.message.contains("not valid JSON"));
        let e = parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#)
            .err()
            .expect("no model");
        assert_eq!(e.body.error.param.as_deref(), Some("model"));
        let e = parse(br#"{"model":"m","messages":[]}"#)
            .err()
            .expect("empty messages");
        assert_eq!(e.body.error.param.as_deref(), Some("messages"));
        let e = parse(br#"{"model":"m","messages":[{}],"stream":"yes"}"#)
            .err()
            .expect("bad stream");
        assert_eq!(e.body.error.param.as_deref(), Some("stream"));
        let ok = parse(br#"{"model":"m","messages":[{}],"stream":true,"stream_options":{"include_usage":true},"user":"u1"}"#).expect("valid");
        assert!(ok.stream && ok.include_usage);
        assert_eq!(ok.end_user.as_deref(), Some("u1"));
    }
}
