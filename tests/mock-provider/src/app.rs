//! Shared state, the router, and small response helpers used by every module.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use crate::{
    anthropic, azure, bedrock, cohere, faults, gemini, ollama, ollama_embed, openai, recorder,
};

/// Paths under this prefix control the mock and are never recorded.
pub const ADMIN_PREFIX: &str = "/__mock/";

/// Generous, because context-length tests send deliberately huge prompts.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub type SharedState = Arc<AppState>;

#[derive(Debug, Default)]
pub struct AppState {
    pub faults: faults::FaultRules,
    /// `None` under `--no-record`, so benchmarks pay nothing for the log.
    pub recorder: Option<recorder::Recorder>,
    next_id: AtomicU64,
}

impl AppState {
    pub fn new(record: bool) -> Self {
        Self {
            recorder: record.then(recorder::Recorder::default),
            ..Self::default()
        }
    }

    /// A process-wide counter for response ids, so ids are unique and predictable.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

pub fn router(state: SharedState) -> Router {
    let openai = openai::routes();
    let mut router = Router::new()
        .merge(openai.clone())
        .nest("/v1", openai)
        .merge(gemini::routes())
        .merge(ollama::routes())
        .merge(anthropic::routes())
        .merge(azure::routes())
        .merge(bedrock::routes())
        .merge(cohere::routes())
        .merge(ollama_embed::routes())
        .route("/__mock/health", get(health))
        .route(
            "/__mock/faults",
            get(faults::list_rules)
                .post(faults::add_rule)
                .delete(faults::clear_rules),
        )
        .route(
            "/__mock/requests",
            get(recorder::list_requests).delete(recorder::clear_requests),
        )
        .fallback(openai::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    if state.recorder.is_some() {
        router = router.layer(middleware::from_fn_with_state(
            state.clone(),
            recorder::record_requests,
        ));
    }
    router.with_state(state)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn health() -> Response {
    json_response(StatusCode::OK, &Health { status: "ok" })
}

/// Serializes `value` as an `application/json` response.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => {
            tracing::error!(%err, "could not serialize response");
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

fn since_epoch() -> std::time::Duration {
    // A clock before 1970 is a broken machine; zero keeps the mock answering.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

pub fn unix_secs() -> u64 {
    since_epoch().as_secs()
}

pub fn unix_millis() -> u64 {
    u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
}
