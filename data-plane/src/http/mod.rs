//! The OpenAI-compatible HTTP API.

pub(crate) mod admission;
mod anthropic;
pub mod auth;
mod chat;
mod completions;
mod deployment_paths;
mod embeddings;
pub(crate) mod endpoint;
pub mod error;
pub(crate) mod extract;
mod health;
pub(crate) mod health_check;
mod management;
mod metrics;
mod model_group_info;
mod model_info;
mod models;
pub(crate) mod passthrough;
pub(crate) mod usage_headers;
mod validate;

use crate::live::LiveState;
use crate::usage::UsageSink;
use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::sync::Arc;
use tollgate_proto::v1::admin_service_client::AdminServiceClient;

pub(crate) use tollgate_shared::read_body::MAX_BODY_BYTES;

/// What every handler shares, behind one `Arc`: axum clones the state for
/// every request, and one reference count is cheaper than one per field
/// (callgrind: `AppState::clone` was 1,900 instructions a request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub live: Arc<LiveState>,
    pub client: crate::providers::HttpClient,
    pub usage: UsageSink,
    /// The control plane's admin API, for the management routes.
    pub admin: AdminServiceClient<InterceptedChannel>,
    /// The control plane's spend queries, for `/spend/logs` and `/global/spend/*`.
    pub spend: tollgate_proto::v1::spend_service_client::SpendServiceClient<InterceptedChannel>,
    /// Survives snapshot swaps: a new config does not forgive a failing
    /// deployment.
    pub cooldowns: Arc<crate::router::Cooldowns>,
    /// In-flight counts and latencies per deployment, for the strategies.
    pub stats: Arc<crate::router::Stats>,
    /// Fleet-wide rpm/tpm/parallel/budget limits, leased from the control
    /// plane.
    pub limiter: Arc<crate::limits::Limiter>,
    /// The dashboard's API, tunnelled to the control plane.
    pub ui: crate::ui::Tunnel,
}

/// Admin calls carry the caller's key, not the cluster token; the channel
/// itself needs no interceptor.
pub type InterceptedChannel = tonic::transport::Channel;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/chat/completions", post(chat::chat_completions))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route("/embeddings", post(embeddings::embeddings))
        .route("/v1/completions", post(completions::completions))
        .route("/completions", post(completions::completions))
        .route("/v1/responses", post(crate::responses::create))
        .route("/responses", post(crate::responses::create))
        .route(
            "/v1/responses/{id}",
            get(crate::responses::retrieve).delete(crate::responses::delete),
        )
        .route(
            "/responses/{id}",
            get(crate::responses::retrieve).delete(crate::responses::delete),
        )
        .route(
            "/v1/responses/{id}/input_items",
            get(crate::responses::input_items),
        )
        .route(
            "/responses/{id}/input_items",
            get(crate::responses::input_items),
        )
        .route("/v1/images/generations", post(crate::media::images))
        .route("/images/generations", post(crate::media::images))
        .route("/v1/audio/speech", post(crate::media::speech))
        .route("/audio/speech", post(crate::media::speech))
        .route(
            "/v1/audio/transcriptions",
            post(crate::media::transcriptions),
        )
        .route("/audio/transcriptions", post(crate::media::transcriptions))
        .route("/v1/moderations", post(crate::media::moderations))
        .route("/moderations", post(crate::media::moderations))
        .route("/v1/rerank", post(crate::media::rerank))
        .route("/v2/rerank", post(crate::media::rerank))
        .route("/rerank", post(crate::media::rerank))
        .route("/model/info", get(model_info::info))
        .route("/v1/model/info", get(model_info::info))
        .route("/model_group/info", get(model_group_info::info))
        .route("/v1/model_group/info", get(model_group_info::info))
        .route("/v1/models", get(models::list))
        .route("/models", get(models::list))
        // `{*model}`: group names may hold slashes (`openai/*` wildcards).
        .route("/v1/models/{*model}", get(models::retrieve))
        .route("/models/{*model}", get(models::retrieve))
        // LiteLLM's paths, with a trailing slash too (FastAPI redirects
        // that form; probes that do not follow redirects get the answer).
        .route(
            "/health/liveliness",
            get(health::liveliness).options(health::options),
        )
        .route(
            "/health/liveliness/",
            get(health::liveliness).options(health::options),
        )
        .route(
            "/health/liveness",
            get(health::liveliness).options(health::options),
        )
        .route(
            "/health/liveness/",
            get(health::liveliness).options(health::options),
        )
        .route(
            "/health/readiness",
            get(health::readiness).options(health::options),
        )
        .route(
            "/health/readiness/",
            get(health::readiness).options(health::options),
        )
        .route("/health", get(health_check::health))
        .merge(deployment_paths::routes())
        .merge(anthropic::routes())
        .merge(passthrough::routes())
        .merge(management::key_routes())
        .merge(management::org_routes())
        .merge(management::spend_routes())
        .merge(crate::ui::routes())
        .route("/metrics", get(metrics::metrics))
        .route("/metrics/", get(metrics::metrics))
        // Every route above: its SERVER span, request id and HTTP metrics
        // (a route layer, so the route template is known).
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(tollgate_telemetry::metrics::HttpMetrics::default()),
            tollgate_telemetry::http::layer,
        ))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    // Last, so it wraps every route and both fallbacks: no answer (a 401, a
    // 404, a GET's reply) leaves request bytes unread.
    tollgate_shared::read_body::read_bodies_first(routes)
}

async fn method_not_allowed(method: Method, uri: Uri) -> axum::response::Response {
    let message = format!("{method} is not allowed on {}.", uri.path());
    if uri.path().starts_with("/v1/messages") {
        // Anthropic's routes answer in Anthropic's shape.
        return anthropic::error::AnthropicError::new(StatusCode::METHOD_NOT_ALLOWED, message)
            .into_response();
    }
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        message,
    )
    .into_response()
}

/// `general_settings.pass_through_endpoints` are the snapshot's, so they
/// are looked up here rather than registered as routes.
async fn fallback(
    axum::extract::State(app): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    match passthrough::custom_route(&app, request).await {
        Ok(response) => response,
        Err(request) => not_found(request.method().clone(), request.uri().clone())
            .await
            .into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> impl IntoResponse {
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!(
            "Unknown route {method} {}. Tollgate serves OpenAI's API under /v1 (see /v1/models).",
            uri.path()
        ),
    )
}
