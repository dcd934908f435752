//! OpenAI's wire protocol: routes, the gates every endpoint shares (auth, body
//! parsing, failure injection), and the wire types several endpoints use.

mod chat;
mod completions;
mod embeddings;
mod error;
mod media;
mod responses;
mod tools;

use std::borrow::Cow;

use axum::Router;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::app::{AppState, SharedState, json_response};
use crate::faults;
use crate::reply;

pub use error::ApiError;

const DONE_FRAME: &[u8] = b"data: [DONE]\n\n";

/// Routes relative to the API root; the router mounts them both at `/` and `/v1`,
/// because clients differ on whether the base URL includes `/v1`.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/chat/completions", post(chat::handle))
        .route("/completions", post(completions::handle))
        .route("/embeddings", post(embeddings::handle))
        .route("/models", get(models))
        .route("/responses", post(responses::create))
        .route(
            "/responses/{id}",
            get(responses::retrieve).delete(responses::delete),
        )
        .route("/responses/{id}/input_items", get(responses::input_items))
        .route("/images/generations", post(media::images))
        .route("/audio/speech", post(media::speech))
        .route("/audio/transcriptions", post(media::transcriptions))
        .route("/moderations", post(media::moderations))
        .route("/rerank", post(media::rerank))
        // Cohere's path (a Cohere deployment's `api_base` is the mock's root).
        .route("/v2/rerank", post(media::cohere_rerank))
}

/// OpenAI's answer to an unknown path, so a gateway building a wrong URL fails the
/// same way it would against the real API.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    ApiError::invalid_url(&method, uri.path()).into_response()
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: [Model; 1],
}

#[derive(Serialize)]
struct Model {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

async fn models() -> Response {
    let list = ModelList {
        object: "list",
        data: [Model {
            id: "mock-gpt",
            object: "model",
            created: 1_700_000_000,
            owned_by: "mock",
        }],
    };
    json_response(StatusCode::OK, &list)
}

/// A request body of one endpoint.
trait OpenAiRequest: DeserializeOwned {
    fn model(&self) -> &str;

    /// Required-parameter checks beyond what deserialization enforces.
    fn validate(&self) -> Result<(), ApiError>;
}

/// Applies, in a real provider's order, everything that happens before a request
/// is served: authentication, body validation, then injected delay and failure.
async fn admit<T: OpenAiRequest>(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if !has_bearer_key(headers) {
        return Err(ApiError::missing_api_key());
    }
    let request: T = serde_json::from_slice(body).map_err(ApiError::unparsable_body)?;
    if request.model().is_empty() {
        return Err(ApiError::missing_model());
    }
    request.validate()?;
    let injection = faults::decide(headers, request.model(), &state.faults);
    if let Some(delay) = injection.delay.filter(|delay| !delay.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    match injection.fault {
        Some(fault) => Err(ApiError::from_fault(&fault, request.model())),
        None => Ok(request),
    }
}

fn has_bearer_key(headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, key)| {
            scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty()
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl Usage {
    fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

fn wants_usage(options: Option<&StreamOptions>) -> bool {
    options.and_then(|o| o.include_usage).unwrap_or(false)
}

/// The `prompt` of completions and the `input` of embeddings: text or token ids,
/// one or many.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextOrTokens {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<i64>),
    TokenBatches(Vec<Vec<i64>>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum InputItem<'a> {
    Text(&'a str),
    Tokens(&'a [i64]),
}

impl TextOrTokens {
    fn items(&self) -> Vec<InputItem<'_>> {
        match self {
            Self::Text(text) => vec![InputItem::Text(text)],
            Self::Texts(texts) => texts.iter().map(|t| InputItem::Text(t)).collect(),
            Self::Tokens(tokens) => vec![InputItem::Tokens(tokens)],
            Self::TokenBatches(batches) => batches.iter().map(|b| InputItem::Tokens(b)).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Text(_) => false,
            Self::Texts(texts) => texts.is_empty(),
            Self::Tokens(tokens) => tokens.is_empty(),
            Self::TokenBatches(batches) => batches.is_empty(),
        }
    }
}

impl<'a> InputItem<'a> {
    /// Words of text, or the count of token ids (they already are tokens).
    fn tokens(self) -> u64 {
        match self {
            Self::Text(text) => reply::word_count(text),
            Self::Tokens(tokens) => tokens.len() as u64,
        }
    }

    /// Token ids are echoed as space-separated numbers, keeping the reply readable.
    fn text(self) -> Cow<'a, str> {
        match self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Tokens(tokens) => Cow::Owned(
                tokens
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
