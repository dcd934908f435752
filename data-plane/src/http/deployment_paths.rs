//! Azure OpenAI's URL shape, as LiteLLM serves it:
//! `POST /openai/deployments/{model}/chat/completions` (and `/completions`,
//! `/embeddings`, and the older `/engines/{model}/…`). Clients configured
//! for Azure (`AzureOpenAI(azure_endpoint=gateway)`) put the model in the
//! path; like LiteLLM, the path's model wins over the body's. The request
//! then takes the same path as its `/v1` twin.

use super::AppState;
use super::chat::chat_completions;
use super::completions::completions;
use super::embeddings::embeddings;
use super::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/openai/deployments", "/engines"] {
        router = router
            .route(
                &format!("{prefix}/{{model}}/chat/completions"),
                post(|state, path, request| with_model(state, path, request, Call::Chat)),
            )
            .route(
                &format!("{prefix}/{{model}}/completions"),
                post(|state, path, request| with_model(state, path, request, Call::Completion)),
            )
            .route(
                &format!("{prefix}/{{model}}/embeddings"),
                post(|state, path, request| with_model(state, path, request, Call::Embedding)),
            );
    }
    router
}

#[derive(Clone, Copy)]
enum Call {
    Chat,
    Completion,
    Embedding,
}

async fn with_model(
    State(app): State<AppState>,
    Path(model): Path<String>,
    request: Request,
    call: Call,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // The body is rewritten; its old length must not travel with it.
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "Request body is too large (the limit is 32 MiB) or could not be read.",
        )
        .into_response();
    };
    // A body that is not a JSON object goes on unchanged, for the route's
    // own 400.
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut object)) => {
            object.insert("model".into(), Value::String(model));
            serde_json::to_vec(&object).map_or_else(|_| bytes.clone(), Into::into)
        }
        _ => bytes,
    };
    let request = Request::from_parts(parts, Body::from(body));
    let state = State(app);
    match call {
        Call::Chat => chat_completions(state, request).await,
        Call::Completion => completions(state, request).await,
        Call::Embedding => embeddings(state, request).await,
    }
}
