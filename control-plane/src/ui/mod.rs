//! The dashboard's JSON API (`/ui/api/*`), on the control plane because it
//! owns the sessions and the database. The control plane's HTTP port
//! serves it directly; data planes tunnel each call here over gRPC
//! ([`tunnel`]), so the page works behind any replica. Static files come
//! from the `tollgate-web` crate.
//!
//! Authentication is the session cookie only (no bearer keys here, and
//! the cookie is never read anywhere else). Authorization is the
//! AdminService's: handlers call it in-process with the session's role, so
//! a viewer's write is refused by the same rule as a viewer's key.

mod admin;
mod fleet;
mod guard;
mod keys;
mod login;
mod logs;
mod models;
mod org;
pub mod session;
pub mod tunnel;
mod usage;

use crate::db::entities::spend_log;
use crate::state::AppState;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::sync::broadcast;
use tollgate_shared::secret::SecretString;

pub use guard::{ClientIp, UiBase};

/// What the dashboard's API keeps between requests.
pub struct UiState {
    pub sessions: session::Sessions,
    pub login_failures: session::LoginLimiter,
    /// New spend logs after each ingest commit, for the live tail.
    pub tail: broadcast::Sender<Arc<Vec<spend_log::Model>>>,
    /// `UI_USERNAME` (default `admin`) and `UI_PASSWORD` (default: the
    /// master key), as LiteLLM reads them.
    pub username: String,
    pub password: Option<SecretString>,
    /// `Secure` on the session cookie (`TOLLGATE_UI_SECURE_COOKIE=true`, or
    /// a request that came over HTTPS per `X-Forwarded-Proto`).
    pub secure_cookie: bool,
}

impl UiState {
    /// `database`: where sessions are stored (`ui_sessions`).
    pub fn from_env(database: sea_orm::DatabaseConnection) -> Self {
        let (tail, _) = broadcast::channel(1_024);
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            sessions: session::Sessions::new(session::Timeouts::from_env(), Some(database)),
            login_failures: session::LoginLimiter::default(),
            tail,
            username: env("UI_USERNAME").unwrap_or_else(|| "admin".into()),
            password: env("UI_PASSWORD").map(SecretString::new),
            secure_cookie: env("TOLLGATE_UI_SECURE_COOKIE").is_some_and(|v| v == "true"),
        }
    }
}

/// Routes below `/ui/api`.
pub fn api(state: AppState) -> Router {
    Router::new()
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/session", get(login::session))
        .route("/overview", get(usage::overview))
        .route("/usage/timeseries", get(usage::timeseries))
        .route("/usage/latency", get(usage::latency))
        .route("/usage/export.csv", get(usage::export_csv))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{token}", get(keys::info))
        .route("/keys/{token}/update", post(keys::update))
        .route("/keys/{token}/block", post(keys::block))
        .route("/keys/{token}/unblock", post(keys::unblock))
        .route("/keys/{token}/regenerate", post(keys::regenerate))
        .route("/keys/{token}/delete", post(keys::delete))
        .route("/teams", get(org::teams).post(org::create_team))
        .route("/teams/{id}", get(org::team))
        .route("/teams/{id}/update", post(org::update_team))
        .route("/teams/{id}/delete", post(org::delete_team))
        .route("/teams/{id}/members", post(org::add_member))
        .route(
            "/teams/{id}/members/{user_id}/delete",
            post(org::remove_member),
        )
        .route("/users", get(org::users).post(org::create_user))
        .route("/users/{id}/update", post(org::update_user))
        .route("/users/{id}/delete", post(org::delete_user))
        .route("/customers", get(org::customers).post(org::create_customer))
        .route("/customers/{id}/update", post(org::update_customer))
        .route("/customers/{id}/delete", post(org::delete_customer))
        .route("/logs", get(logs::list))
        .route("/logs/stream", get(logs::stream))
        .route("/fleet", get(fleet::fleet))
        .route("/models", get(models::models))
        .route("/models/{id}/check", post(models::check))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found_error",
                "No such dashboard API route.",
            )
        })
        .with_state(state)
}

/// A refusal or failure, answered in OpenAI's envelope as every other
/// Tollgate route answers.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let envelope = tollgate_shared::error::ErrorEnvelope::new(
            self.message,
            self.kind,
            self.status.as_u16(),
        );
        (self.status, Json(envelope)).into_response()
    }
}

pub fn error(status: StatusCode, kind: &'static str, message: impl Into<String>) -> UiError {
    UiError {
        status,
        kind,
        message: message.into(),
    }
}

pub fn bad_request(message: impl Into<String>) -> UiError {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

pub fn internal(e: impl std::fmt::Display) -> UiError {
    tracing::warn!("dashboard API: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_server_error",
        "The dashboard query failed; the control plane's log has the cause.",
    )
}
