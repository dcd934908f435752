//! Azure OpenAI: OpenAI's chat protocol under
//! `/openai/deployments/{deployment}/chat/completions?api-version=…`,
//! authenticated by an `api-key` header, with Azure's own error bodies for
//! auth, routing and the content filter. The answer itself is the OpenAI
//! mock's: the request is handed to it unchanged.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{MAX_BODY_BYTES, SharedState, json_response, unix_secs};
use crate::openai;
use crate::reply;
use crate::sse::SsePlan;

const ACCESS_DENIED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";
const FILTERED: &str = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(embeddings),
        )
        .route(
            "/openai/deployments/{deployment}/images/generations",
            post(images),
        )
        .route(
            "/openai/deployments/{deployment}/audio/speech",
            post(speech),
        )
        // The Responses API is per resource: the body's `model` names the deployment.
        .route("/openai/responses", post(responses))
        .route(
            "/openai/responses/{id}",
            get(response_by_id).delete(response_by_id),
        )
}

/// Azure's checks (`api-key`, `api-version`), then the headers the OpenAI
/// handler expects (it authenticates by bearer token: lend it the key).
fn azure_auth(query: Option<&str>, mut headers: HeaderMap) -> Result<HeaderMap, Box<Response>> {
    let key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Box::new(azure_error(StatusCode::UNAUTHORIZED, ACCESS_DENIED)))?;
    let has_version = query.is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.strip_prefix("api-version=")
                .is_some_and(|v| !v.is_empty())
        })
    });
    if !has_version {
        return Err(Box::new(azure_error(
            StatusCode::NOT_FOUND,
            "Resource not found",
        )));
    }
    let bearer = HeaderValue::try_from(format!("Bearer {key}"))
        .map_err(|_| Box::new(azure_error(StatusCode::UNAUTHORIZED, ACCESS_DENIED)))?;
    headers.insert(AUTHORIZATION, bearer);
    Ok(headers)
}

/// Serves a request with the OpenAI mock's handler for `path`.
async fn as_openai(
    state: SharedState,
    path: &'static str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    as_openai_with(state, Method::POST, Uri::from_static(path), headers, body).await
}

async fn as_openai_with(
    state: SharedState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let router = openai::routes().with_state(state);
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

async fn embeddings(
    State(state): State<SharedState>,
    Path(_deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match azure_auth(query.as_deref(), headers) {
        Ok(headers) => as_openai(state, "/embeddings", headers, body).await,
        Err(response) => *response,
    }
}

async fn images(
    State(state): State<SharedState>,
    Path(_deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match azure_auth(query.as_deref(), headers) {
        Ok(headers) => as_openai(state, "/images/generations", headers, body).await,
        Err(response) => *response,
    }
}

async fn speech(
    State(state): State<SharedState>,
    Path(_deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match azure_auth(query.as_deref(), headers) {
        Ok(headers) => as_openai(state, "/audio/speech", headers, body).await,
        Err(response) => *response,
    }
}

async fn responses(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match azure_auth(query.as_deref(), headers) {
        Ok(headers) => as_openai(state, "/responses", headers, body).await,
        Err(response) => *response,
    }
}

async fn response_by_id(
    State(state): State<SharedState>,
    method: Method,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let headers = match azure_auth(query.as_deref(), headers) {
        Ok(headers) => headers,
        Err(response) => return *response,
    };
    match format!("/responses/{id}").parse::<Uri>() {
        Ok(uri) => as_openai_with(state, method, uri, headers, Bytes::new()).await,
        Err(_) => azure_error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

fn azure_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16().to_string(), "message": message}}),
    )
}

async fn chat(
    State(state): State<SharedState>,
    Path(_deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers = match azure_auth(query.as_deref(), headers) {
        Ok(headers) => headers,
        Err(response) => return *response,
    };
    if let Some(response) = scripted_tool_call(&state, &body) {
        return response;
    }
    let response = as_openai(state, "/chat/completions", headers, body).await;
    content_filter_in_azure_shape(response).await
}

/// Azure reports a content-filter refusal as `code: content_filter` with the
/// filter results; the OpenAI mock says `content_policy_violation`.
async fn content_filter_in_azure_shape(response: Response) -> Response {
    if response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let code = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    if code.as_deref() != Some("content_policy_violation") {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let filtered = |f: bool| json!({"filtered": f, "severity": if f { "high" } else { "safe" }});
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": {
            "message": FILTERED,
            "type": null,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    "hate": filtered(false),
                    "self_harm": filtered(false),
                    "sexual": filtered(false),
                    "violence": filtered(true),
                },
            },
        }}),
    )
}

/// Words of a message's text (string or text parts).
fn message_text(message: &Value) -> String {
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// When tools are offered and the last user message asks about the weather,
/// the model "calls" the first tool, in OpenAI's exact shape (streamed or
/// not), so gateways can test tool calls end to end.
fn scripted_tool_call(state: &SharedState, body: &[u8]) -> Option<Response> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let name = request["tools"].as_array()?.first()?["function"]["name"].as_str()?;
    if request["tool_choice"].as_str() == Some("none") {
        return None;
    }
    let messages = request["messages"].as_array()?;
    let last_user = messages.iter().rev().find(|m| m["role"] == "user")?;
    if !message_text(last_user).to_lowercase().contains("weather") {
        return None;
    }
    let prompt_tokens: u64 = messages
        .iter()
        .map(|m| reply::word_count(&message_text(m)) + 1)
        .sum();
    let arguments = json!({"location": "Paris"}).to_string();
    let completion_tokens = reply::completion_tokens(&arguments);
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    let n = state.next_id();
    let id = format!("chatcmpl-mock-{n}");
    let call_id = format!("call_mock_{n}");
    let model = request["model"].clone();
    let created = unix_secs();
    if request["stream"].as_bool() != Some(true) {
        return Some(json_response(
            StatusCode::OK,
            &json!({
                "id": id, "object": "chat.completion", "created": created, "model": model,
                "system_fingerprint": "fp_mock",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                    "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
                    "logprobs": null, "finish_reason": "tool_calls"}],
                "usage": usage,
            }),
        ));
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
               "system_fingerprint": "fp_mock",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut plan = SsePlan {
        terminator: Some(Bytes::from_static(b"data: [DONE]\n\n")),
        ..SsePlan::default()
    };
    plan.push_data(&chunk(
        json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        Value::Null,
    ));
    let mid = arguments.len() / 2;
    for fragment in [&arguments[..mid], &arguments[mid..]] {
        plan.push_data(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}),
            Value::Null,
        ));
    }
    plan.push_data(&chunk(json!({}), json!("tool_calls")));
    if request["stream_options"]["include_usage"].as_bool() == Some(true) {
        let mut last = chunk(json!({}), Value::Null);
        last["choices"] = json!([]);
        last["usage"] = usage;
        plan.push_data(&last);
    }
    Some(plan.into_response(crate::faults::StreamFaults::default()))
}

#[cfg(test)]
mod tests;
