//! Anthropic's Messages API in front of every model group:
//! `POST /v1/messages` and `POST /v1/messages/count_tokens`. Anthropic
//! deployments are called natively (the body and the event stream relayed
//! as Anthropic speaks them); every other deployment through the chat
//! contract, translated from and to OpenAI's chat shapes (`to_chat`,
//! `from_chat`, `chat_stream`). Either way the request goes through the
//! same machinery as chat — virtual-key auth, model access, fleet-wide
//! limits and budgets, the router's retries and fallbacks, exact spend —
//! and every error answers in Anthropic's shape (`error`).

mod chat_stream;
mod count_tokens;
pub mod error;
mod from_chat;
mod messages;
mod native;
mod operation;
mod request;
mod sse;
mod to_chat;

use super::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::routing::post;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", post(messages::messages))
        .route(
            "/v1/messages/count_tokens",
            post(count_tokens::count_tokens),
        )
}

/// The Anthropic headers a native call carries on from the client.
const FORWARDED: [&str; 2] = ["anthropic-version", "anthropic-beta"];

fn forwarded_headers(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    FORWARDED
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?;
            Some((HeaderName::from_static(name), value.clone()))
        })
        .collect()
}
