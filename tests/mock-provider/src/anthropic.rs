//! Anthropic's Messages API: `POST /v1/messages` with `x-api-key` and
//! `anthropic-version`, validated as strictly as the real API (unknown
//! top-level fields are refused, so a gateway leaking OpenAI parameters
//! fails here as it would there), answered in JSON or Anthropic's SSE.

mod count_tokens;
mod error;
mod stream;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{SharedState, json_response};
use crate::faults::{self, StreamFaults};
use crate::reply;

pub use error::AnthropicError;

/// Top-level fields the Messages API accepts.
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

const BLOCK_TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
];

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/messages", post(handle))
        .route("/v1/messages/count_tokens", post(count_tokens::handle))
}

/// A validated request, reduced to what the reply depends on.
#[derive(Debug)]
struct Request {
    model: String,
    stream: bool,
    last_user_text: String,
    input_tokens: u64,
    /// The tool to call and its input, when the request asks for one.
    tool_call: Option<(String, Value)>,
    /// Extended thinking is on: the answer starts with a thinking block.
    thinking: bool,
}

/// The thinking text and signature of every answer with extended thinking.
pub const THINKING: &str = "Let me think about that.";
pub const SIGNATURE: &str = "mock-signature";

async fn handle(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AnthropicError> {
    let request = admit(&state, &headers, &body).await?;
    let id = format!("msg_mock_{}", state.next_id());
    let reply = match &request.tool_call {
        Some((name, input)) => Reply::Tool {
            id: format!("toolu_mock_{}", state.next_id()),
            name: name.clone(),
            input: input.clone(),
        },
        None => Reply::Text(
            reply::override_from(&headers).unwrap_or_else(|| reply::echo(&request.last_user_text)),
        ),
    };
    if request.stream {
        let plan = stream::plan(
            &id,
            &request.model,
            &reply,
            request.input_tokens,
            request.thinking,
        );
        return Ok(plan.into_response(StreamFaults::for_request(&headers, &request.model)));
    }
    let message = message(&id, &request.model, &request, &reply);
    Ok(json_response(StatusCode::OK, &message))
}

/// The Messages API's whole (not streamed) answer.
fn message(id: &str, model: &str, request: &Request, reply: &Reply) -> Value {
    let mut content = Vec::with_capacity(2);
    if request.thinking {
        content.push(json!({"type": "thinking", "thinking": THINKING, "signature": SIGNATURE}));
    }
    content.push(reply.block());
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason(),
        "stop_sequence": null,
        "usage": usage_head(model, request.input_tokens, reply.output_tokens()),
    })
}

/// Bedrock's InvokeModel for an Anthropic model: the Messages API's body
/// with `anthropic_version: bedrock-2023-05-31` and without `model` (the
/// path names it) or `stream` (the operation does); the answer is the
/// Messages API's message, or its events for the streamed operation.
pub struct BedrockInvoke {
    pub message: Value,
    pub events: Vec<Value>,
    pub output_tokens: u64,
}

pub fn bedrock_invoke(
    state: &crate::app::AppState,
    model_id: &str,
    body: &Value,
) -> Result<BedrockInvoke, String> {
    let Value::Object(fields) = body else {
        return Err("Malformed input request: expected an object".into());
    };
    if fields.get("anthropic_version").and_then(Value::as_str) != Some("bedrock-2023-05-31") {
        return Err(
            "Malformed input request: #: required key [anthropic_version] not found".into(),
        );
    }
    if let Some(extra) = ["model", "stream"]
        .iter()
        .find(|k| fields.contains_key(**k))
    {
        return Err(format!(
            "Malformed input request: #: extraneous key [{extra}] is not permitted"
        ));
    }
    let mut messages_body = fields.clone();
    messages_body.remove("anthropic_version");
    messages_body.insert("model".into(), Value::String(model_id.to_string()));
    let request = validate(&Value::Object(messages_body)).map_err(|e| e.message)?;
    let id = format!("msg_bdrk_mock_{}", state.next_id());
    let reply = match &request.tool_call {
        Some((name, input)) => Reply::Tool {
            id: format!("toolu_bdrk_mock_{}", state.next_id()),
            name: name.clone(),
            input: input.clone(),
        },
        None => Reply::Text(reply::echo(&request.last_user_text)),
    };
    let events = stream::events(
        &id,
        model_id,
        &reply,
        request.input_tokens,
        request.thinking,
    );
    Ok(BedrockInvoke {
        message: message(&id, model_id, &request, &reply),
        events,
        output_tokens: reply.output_tokens(),
    })
}

/// Anthropic's `usage`: `input_tokens` excludes what was read from the
/// prompt cache (`cache_read_input_tokens`) and what was written to it
/// (`cache_creation_input_tokens`).
pub fn usage_head(model: &str, prompt_tokens: u64, output_tokens: u64) -> Value {
    let cached = crate::markers::cached_of(model, prompt_tokens);
    let written = crate::markers::cache_written_of(model, prompt_tokens - cached);
    json!({
        "input_tokens": prompt_tokens - cached - written,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    })
}

/// What the mock answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Text(String),
    Tool {
        id: String,
        name: String,
        input: Value,
    },
}

impl Reply {
    fn block(&self) -> Value {
        match self {
            Reply::Text(text) => json!({"type": "text", "text": text}),
            Reply::Tool { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        }
    }

    fn stop_reason(&self) -> &'static str {
        match self {
            Reply::Text(_) => "end_turn",
            Reply::Tool { .. } => "tool_use",
        }
    }

    fn output_tokens(&self) -> u64 {
        match self {
            Reply::Text(text) => reply::completion_tokens(text),
            Reply::Tool { input, .. } => reply::completion_tokens(&input.to_string()),
        }
    }
}

/// Authentication, then the body, then injected faults: the real API's order.
async fn admit(
    state: &crate::app::AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Request, AnthropicError> {
    let present = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty())
    };
    if !present("x-api-key") {
        return Err(AnthropicError::missing_api_key());
    }
    if !present("anthropic-version") {
        return Err(AnthropicError::missing_version());
    }
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| AnthropicError::invalid_request(format!("invalid JSON body: {e}")))?;
    let request = validate(&body)?;
    let injection = faults::decide(headers, &request.model, &state.faults);
    if let Some(delay) = injection.delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    match injection.fault {
        Some(fault) => Err(AnthropicError::from_fault(&fault, &request.model)),
        None => Ok(request),
    }
}

fn required(message: &str) -> AnthropicError {
    AnthropicError::invalid_request(format!("{message}: Field required"))
}

fn validate(body: &Value) -> Result<Request, AnthropicError> {
    let Value::Object(fields) = body else {
        return Err(AnthropicError::invalid_request(
            "body must be a JSON object",
        ));
    };
    if let Some(extra) = fields.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(AnthropicError::invalid_request(format!(
            "{extra}: Extra inputs are not permitted"
        )));
    }
    let model = fields
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| required("model"))?
        .to_string();
    if !fields.get("max_tokens").is_some_and(Value::is_u64) {
        return Err(required("max_tokens"));
    }
    let messages = fields
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| required("messages"))?;
    let mut input_tokens = 0;
    match fields.get("system") {
        None => {}
        Some(Value::String(s)) => input_tokens += reply::word_count(s) + 1,
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(AnthropicError::invalid_request(format!(
                        "system.{i}.type: Input should be 'text'"
                    )));
                }
                input_tokens += block
                    .get("text")
                    .and_then(Value::as_str)
                    .map_or(0, reply::word_count);
            }
            input_tokens += 1;
        }
        Some(_) => {
            return Err(AnthropicError::invalid_request(
                "system: Input should be a valid string or list",
            ));
        }
    }
    let mut last_user_text = String::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(AnthropicError::invalid_request(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            )));
        }
        let texts = message_texts(message, i)?;
        input_tokens += texts.iter().map(|t| reply::word_count(t)).sum::<u64>() + 1;
        if role == "user" {
            last_user_text = texts.join(" ");
        }
    }
    let tool_call = tool_call(fields, &last_user_text);
    Ok(Request {
        model,
        stream: fields
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        last_user_text,
        input_tokens,
        tool_call,
        thinking: fields
            .get("thinking")
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str)
            == Some("enabled"),
    })
}

/// The text of a message's text blocks, after checking every block's shape.
fn message_texts(message: &Value, i: usize) -> Result<Vec<String>, AnthropicError> {
    match message.get("content") {
        Some(Value::String(text)) => Ok(vec![text.clone()]),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            for (j, block) in blocks.iter().enumerate() {
                let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
                if !BLOCK_TYPES.contains(&kind) {
                    return Err(AnthropicError::invalid_request(format!(
                        "messages.{i}.content.{j}.type: Input tag '{kind}' found using 'type' does not match any of the expected tags"
                    )));
                }
                match kind {
                    "text" => match block.get("text").and_then(Value::as_str) {
                        Some("") | None => {
                            return Err(AnthropicError::invalid_request(format!(
                                "messages.{i}.content.{j}.text: text content blocks must be non-empty"
                            )));
                        }
                        Some(text) => texts.push(text.to_string()),
                    },
                    "image" => validate_image(block.get("source"), i, j)?,
                    "tool_use" if !block.get("input").is_some_and(Value::is_object) => {
                        return Err(AnthropicError::invalid_request(format!(
                            "messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                        )));
                    }
                    "tool_result" if block.get("tool_use_id").and_then(Value::as_str).is_none() => {
                        return Err(required(&format!(
                            "messages.{i}.content.{j}.tool_result.tool_use_id"
                        )));
                    }
                    _ => {}
                }
            }
            Ok(texts)
        }
        _ => Err(required(&format!("messages.{i}.content"))),
    }
}

fn validate_image(source: Option<&Value>, i: usize, j: usize) -> Result<(), AnthropicError> {
    let source =
        source.ok_or_else(|| required(&format!("messages.{i}.content.{j}.image.source")))?;
    let ok = match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            source
                .get("media_type")
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("image/"))
                && source.get("data").is_some_and(Value::is_string)
        }
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("http")),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AnthropicError::invalid_request(format!(
            "messages.{i}.content.{j}.image.source: invalid image source"
        )))
    }
}

/// A forced tool is always called (with the reply as its input, which makes
/// JSON mode testable); otherwise a tool is called when tools are offered and
/// the user asks about the weather.
fn tool_call(fields: &serde_json::Map<String, Value>, text: &str) -> Option<(String, Value)> {
    let choice = fields.get("tool_choice");
    let choice_type = choice.and_then(|c| c.get("type")).and_then(Value::as_str);
    if choice_type == Some("tool") {
        let name = choice.and_then(|c| c.get("name")).and_then(Value::as_str)?;
        return Some((name.to_string(), json!({"reply": reply::echo(text)})));
    }
    if choice_type == Some("none") {
        return None;
    }
    let first = fields.get("tools")?.as_array()?.first()?;
    let name = first.get("name").and_then(Value::as_str)?;
    text.to_lowercase()
        .contains("weather")
        .then(|| (name.to_string(), json!({"location": "Paris"})))
}

#[cfg(test)]
mod tests;
