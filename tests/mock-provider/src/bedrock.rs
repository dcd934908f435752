//! AWS Bedrock Runtime's wire protocol: `POST /model/{modelId}/converse`,
//! `/converse-stream` (binary event stream), `/invoke` (Titan and Cohere
//! embeddings, Anthropic models' Messages bodies) and
//! `/invoke-with-response-stream` (Anthropic models: each Messages event
//! base64-encoded in a `chunk` frame), behind SigV4 `Authorization` checks.

mod request;
mod sigv4;

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, Fault, FaultKind, StreamFaults};
use crate::{anthropic, base64, eventstream, reply};

pub use request::Converse;

/// Header naming an exception to send mid-stream (after `messageStart`),
/// e.g. `throttlingException`, as Bedrock does when throttled during a stream.
pub const STREAM_EXCEPTION_HEADER: &str = "x-mock-stream-exception";
/// A model whose streams are throttled after `messageStart` (the gateway
/// forwards no client headers, so e2e tests choose the model instead).
const STREAM_THROTTLED_MODEL: &str = "mock-stream-throttling";
/// Vectors have this many dimensions unless the request asks (as the OpenAI mock).
const DEFAULT_DIMENSIONS: usize = 8;
const INVOKE_STREAM: &str = "invoke-with-response-stream";

pub fn routes() -> Router<SharedState> {
    Router::new().route("/model/{model_id}/{action}", post(handle))
}

/// An AWS error: status, the `x-amzn-errortype` class and `{"message"}`.
#[derive(Debug)]
pub struct AwsError {
    status: StatusCode,
    class: &'static str,
    message: String,
    retry_after: Option<String>,
}

impl AwsError {
    pub fn new(status: StatusCode, class: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            class,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    fn from_fault(fault: &Fault) -> Self {
        let mut error = match fault.kind {
            FaultKind::RateLimit => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            FaultKind::ServerError => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            FaultKind::ContextLength => Self::validation("Input is too long for requested model."),
            FaultKind::ContentPolicy => Self::validation("The request was blocked by a guardrail."),
            FaultKind::Status => {
                let class = match fault.status.as_u16() {
                    400 => "ValidationException",
                    401 | 403 => "AccessDeniedException",
                    404 => "ResourceNotFoundException",
                    408 => "ModelTimeoutException",
                    429 => "ThrottlingException",
                    503 => "ServiceUnavailableException",
                    _ => "InternalServerException",
                };
                Self::new(
                    fault.status,
                    class,
                    format!("mock: injected {}", fault.status),
                )
            }
        };
        error.retry_after = fault.retry_after.clone();
        error
    }

    pub fn into_response(self) -> Response {
        let mut response = json_response(self.status, &json!({ "message": self.message }));
        let headers = response.headers_mut();
        let class = format!(
            "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            self.class
        );
        if let Ok(value) = HeaderValue::try_from(class) {
            headers.insert("x-amzn-errortype", value);
        }
        if let Some(value) = self.retry_after.and_then(|r| HeaderValue::try_from(r).ok()) {
            headers.insert(RETRY_AFTER, value);
        }
        response
    }
}

async fn handle(
    State(state): State<SharedState>,
    Path((model_id, action)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match serve(&state, &model_id, &action, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn serve(
    state: &crate::app::AppState,
    model_id: &str,
    action: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AwsError> {
    sigv4::verify(&Method::POST, uri, headers, body)?;
    if !matches!(
        action,
        "converse" | "converse-stream" | "invoke" | INVOKE_STREAM
    ) {
        return Err(AwsError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("unknown operation {action}"),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AwsError::validation(format!("Malformed input request: {e}")))?;
    let injection = faults::decide(headers, model_id, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    let guardrail = match &injection.fault {
        Some(f) if f.kind == FaultKind::ContentPolicy && !action.starts_with("invoke") => true,
        Some(f) => return Err(AwsError::from_fault(f)),
        None => false,
    };
    if action.starts_with("invoke") {
        if is_anthropic(model_id) {
            return anthropic_invoke(
                state,
                model_id,
                &value,
                action == INVOKE_STREAM,
                StreamFaults::from_headers(headers),
            );
        }
        if action == INVOKE_STREAM {
            return Err(AwsError::validation(format!(
                "The provided model identifier {model_id} does not support InvokeModelWithResponseStream in this mock"
            )));
        }
        return invoke(model_id, &value);
    }
    let converse = request::parse(&value)?;
    let mut answer = answer(&converse, headers, guardrail);
    answer.cached_tokens = crate::markers::cached_of(model_id, answer.input_tokens);
    if action == "converse" {
        return Ok(json_response(StatusCode::OK, &converse_body(&answer)));
    }
    let exception = headers
        .get(STREAM_EXCEPTION_HEADER)
        .and_then(|v| v.to_str().ok())
        .or((model_id == STREAM_THROTTLED_MODEL).then_some("throttlingException"));
    Ok(stream_response(
        &answer,
        exception,
        StreamFaults::from_headers(headers),
    ))
}

/// What the mock model answers: text or a tool call, with usage.
struct Answer {
    text: String,
    tool: Option<(String, Value)>,
    stop_reason: &'static str,
    input_tokens: u64,
    output_tokens: u64,
    /// Of `input_tokens`, those read from the prompt cache (`cached-<n>`
    /// in the model id).
    cached_tokens: u64,
}

fn answer(converse: &Converse, headers: &HeaderMap, guardrail: bool) -> Answer {
    let input_tokens = converse.prompt_tokens();
    if guardrail {
        let text = "Sorry, the model cannot answer this question.".to_string();
        return Answer {
            output_tokens: reply::completion_tokens(&text),
            text,
            tool: None,
            stop_reason: "guardrail_intervened",
            input_tokens,
            cached_tokens: 0,
        };
    }
    let last = converse.last_user_text();
    if let Some((name, input)) = converse.tool_call(&last) {
        return Answer {
            output_tokens: reply::completion_tokens(&input.to_string()),
            text: String::new(),
            tool: Some((name, input)),
            stop_reason: "tool_use",
            input_tokens,
            cached_tokens: 0,
        };
    }
    let text = reply::override_from(headers).unwrap_or_else(|| reply::echo(&last));
    Answer {
        output_tokens: reply::completion_tokens(&text),
        text,
        tool: None,
        stop_reason: "end_turn",
        input_tokens,
        cached_tokens: 0,
    }
}

const TOOL_USE_ID: &str = "tooluse_mock_0001";

/// Converse's usage: `inputTokens` leaves out cache reads, which
/// `cacheReadInputTokens` counts (present only when caching was used).
fn usage(answer: &Answer) -> Value {
    let mut usage = json!({
        "inputTokens": answer.input_tokens - answer.cached_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.input_tokens + answer.output_tokens,
    });
    if answer.cached_tokens > 0 {
        usage["cacheReadInputTokens"] = answer.cached_tokens.into();
        usage["cacheWriteInputTokens"] = 0.into();
    }
    usage
}

fn converse_body(answer: &Answer) -> Value {
    let content = match &answer.tool {
        Some((name, input)) => {
            json!([{"toolUse": {"toolUseId": TOOL_USE_ID, "name": name, "input": input}}])
        }
        None => json!([{ "text": answer.text }]),
    };
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": answer.stop_reason,
        "usage": usage(answer),
        "metrics": {"latencyMs": 1},
    })
}

/// The ConverseStream events for `answer`, in Bedrock's order.
fn stream_events(answer: &Answer, exception: Option<&str>) -> Vec<Bytes> {
    let mut events = vec![eventstream::event(
        "messageStart",
        &json!({"role": "assistant"}),
    )];
    if let Some(class) = exception {
        events.push(eventstream::exception(
            class,
            "mock: injected stream exception",
        ));
        return events;
    }
    match &answer.tool {
        Some((name, input)) => {
            events.push(eventstream::event(
                "contentBlockStart",
                &json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": TOOL_USE_ID, "name": name}}}),
            ));
            // Bedrock streams tool input as JSON text fragments.
            let input = input.to_string();
            let middle = input.len() / 2;
            let split = (middle..input.len())
                .find(|i| input.is_char_boundary(*i))
                .unwrap_or(input.len());
            for piece in [&input[..split], &input[split..]] {
                events.push(eventstream::event(
                    "contentBlockDelta",
                    &json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}),
                ));
            }
        }
        None => {
            for piece in reply::stream_pieces(&answer.text) {
                events.push(eventstream::event(
                    "contentBlockDelta",
                    &json!({"contentBlockIndex": 0, "delta": {"text": piece}}),
                ));
            }
        }
    }
    events.push(eventstream::event(
        "contentBlockStop",
        &json!({"contentBlockIndex": 0}),
    ));
    events.push(eventstream::event(
        "messageStop",
        &json!({"stopReason": answer.stop_reason}),
    ));
    events.push(eventstream::event(
        "metadata",
        &json!({"usage": usage(answer), "metrics": {"latencyMs": 1}}),
    ));
    events
}

fn stream_response(answer: &Answer, exception: Option<&str>, faults: StreamFaults) -> Response {
    eventstream_response(stream_events(answer, exception), faults)
}

/// `anthropic.claude-…`, or a cross-region inference profile of one
/// (`us.anthropic.claude-…`).
fn is_anthropic(model_id: &str) -> bool {
    model_id.starts_with("anthropic.") || model_id.contains(".anthropic.")
}

/// InvokeModel / InvokeModelWithResponseStream for an Anthropic model: the
/// Messages API's answer, whole (token counts also in Bedrock's headers) or
/// as `chunk` frames whose `bytes` are each event's JSON in base64, the
/// last one carrying `amazon-bedrock-invocationMetrics`, as Bedrock sends.
fn anthropic_invoke(
    state: &crate::app::AppState,
    model_id: &str,
    body: &Value,
    stream: bool,
    faults: StreamFaults,
) -> Result<Response, AwsError> {
    let invoked = anthropic::bedrock_invoke(state, model_id, body).map_err(AwsError::validation)?;
    let usage = &invoked.message["usage"];
    let uncached = usage["input_tokens"].as_u64().unwrap_or(0);
    if !stream {
        let mut response = json_response(StatusCode::OK, &invoked.message);
        for (name, count) in [
            ("x-amzn-bedrock-input-token-count", uncached),
            ("x-amzn-bedrock-output-token-count", invoked.output_tokens),
        ] {
            if let Ok(value) = HeaderValue::try_from(count.to_string()) {
                response.headers_mut().insert(name, value);
            }
        }
        return Ok(response);
    }
    let metrics = json!({
        "inputTokenCount": uncached,
        "outputTokenCount": invoked.output_tokens,
        "cacheReadInputTokenCount": usage["cache_read_input_tokens"],
        "cacheWriteInputTokenCount": usage["cache_creation_input_tokens"],
        "invocationLatency": 1,
        "firstByteLatency": 1,
    });
    let mut events = invoked.events;
    if let Some(last) = events.last_mut().and_then(Value::as_object_mut) {
        last.insert("amazon-bedrock-invocationMetrics".into(), metrics);
    }
    let frames = events
        .iter()
        .map(|event| {
            eventstream::event(
                "chunk",
                &json!({"bytes": base64::encode(event.to_string().as_bytes())}),
            )
        })
        .collect();
    Ok(eventstream_response(frames, faults))
}

/// A `application/vnd.amazon.eventstream` answer, one frame per write,
/// with the stream faults applied.
fn eventstream_response(mut events: Vec<Bytes>, faults: StreamFaults) -> Response {
    let fail = faults.fail_after_chunks.is_some();
    if let Some(limit) = faults.fail_after_chunks {
        events.truncate(limit);
    }
    let delay = faults.chunk_delay.filter(|d| !d.is_zero());
    let body = async_stream::stream! {
        for (index, event) in events.into_iter().enumerate() {
            if let (Some(delay), true) = (delay, index > 0) {
                tokio::time::sleep(delay).await;
            }
            yield Ok::<Bytes, std::io::Error>(event);
        }
        if fail {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
            yield Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock: injected stream failure"));
        }
    };
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    response
}

/// `InvokeModel` for the embedding families Tollgate supports.
fn invoke(model_id: &str, body: &Value) -> Result<Response, AwsError> {
    if model_id.contains("amazon.titan-embed") {
        let text = body
            .get("inputText")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                AwsError::validation("Malformed input request: required key [inputText] not found")
            })?;
        if let Some(extra) = body.as_object().and_then(|o| {
            o.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "inputText" | "dimensions" | "normalize" | "embeddingTypes"
                )
            })
        }) {
            return Err(AwsError::validation(format!(
                "Malformed input request: extraneous key [{extra}] is not permitted"
            )));
        }
        let dimensions = match body.get("dimensions") {
            None => DEFAULT_DIMENSIONS,
            Some(d) => match d.as_u64() {
                Some(n @ 1..=1024) => n as usize,
                _ => {
                    return Err(AwsError::validation(
                        "Malformed input request: dimensions must be 256, 512 or 1024",
                    ));
                }
            },
        };
        let vector = reply::embedding_vector(text.as_bytes(), dimensions);
        return Ok(json_response(
            StatusCode::OK,
            &json!({"embedding": vector, "inputTextTokenCount": reply::word_count(text)}),
        ));
    }
    if model_id.contains("cohere.embed") {
        let texts: Vec<&str> = body
            .get("texts")
            .and_then(Value::as_array)
            .and_then(|t| t.iter().map(Value::as_str).collect())
            .ok_or_else(|| {
                AwsError::validation("Malformed input request: required key [texts] not found")
            })?;
        if body.get("input_type").and_then(Value::as_str).is_none() {
            return Err(AwsError::validation(
                "Malformed input request: required key [input_type] not found",
            ));
        }
        let embeddings: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| reply::embedding_vector(t.as_bytes(), DEFAULT_DIMENSIONS))
            .collect();
        let tokens: u64 = texts.iter().map(|t| reply::word_count(t)).sum();
        let mut response = json_response(
            StatusCode::OK,
            &json!({"id": "mock-cohere-embed", "embeddings": embeddings, "texts": texts, "response_type": "embeddings_floats"}),
        );
        if let Ok(value) = HeaderValue::try_from(tokens.to_string()) {
            response
                .headers_mut()
                .insert("x-amzn-bedrock-input-token-count", value);
        }
        return Ok(response);
    }
    Err(AwsError::validation(format!(
        "The provided model identifier {model_id} does not support InvokeModel in this mock"
    )))
}

#[cfg(test)]
mod tests;
