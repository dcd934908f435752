//! The control plane's HTTP port: liveness and the status API (the web
//! dashboard's data source).

use crate::master_key::bearer;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;

pub fn router(state: AppState) -> Router {
    let root = tollgate_web::root_path_from_env();
    let base = format!("{root}/ui");
    // The dashboard's API sees who connected and where the page lives
    // (data planes set both in the tunnelled request instead).
    let api = crate::ui::api(state.clone()).layer(axum::middleware::from_fn(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, mut request: Request, next: Next| {
            request
                .extensions_mut()
                .insert(crate::ui::ClientIp(peer.ip().to_string()));
            request
                .extensions_mut()
                .insert(crate::ui::UiBase(base.clone()));
            next.run(request)
        },
    ));
    let dashboard = tollgate_web::router(
        api,
        tollgate_web::UiConfig {
            version: env!("CARGO_PKG_VERSION").to_string(),
            server_root_path: root,
        },
    );
    let routes = Router::new()
        // `/health`: this control plane is the active one, serving (ports.rs
        // answers 503 before). `/health/liveliness`: the process is alive.
        .route("/health", get(|| async { "ok" }))
        .route("/health/liveliness", get(|| async { "alive" }))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .route("/metrics/", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(tollgate_telemetry::metrics::HttpMetrics::default()),
            tollgate_telemetry::http::layer,
        ))
        .with_state(state)
        .merge(dashboard)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Every answer, the 401 and the 404 included, after the body is read.
    tollgate_shared::read_body::read_bodies_first(routes)
}

async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    if !state.is_master_key(presented) {
        let body = json!({"error": {
            "message": "Authentication Error: pass the master key as `Authorization: Bearer <master_key>`.",
            "type": "auth_error",
            "param": null,
            "code": "401",
        }});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    Json(state.status()).into_response()
}

/// `GET /metrics`: the control plane's Prometheus metrics (the fleet view:
/// snapshot version, connected data planes, ACKs, ingest). With
/// `general_settings.require_auth_for_metrics_endpoint` only the master key.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.metrics_require_auth() {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        if !state.is_master_key(presented) {
            let body = json!({"error": {
                "message": "Authentication Error: /metrics needs the master key (require_auth_for_metrics_endpoint is on).",
                "type": "auth_error",
                "param": null,
                "code": "401",
            }});
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
    }
    let budgets = crate::metrics::budgets::render(&state).await;
    // After the budget queries: the pool's gauges say what the rest of the
    // control plane holds, not this scrape's own connection.
    crate::metrics::refresh(&state);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = tollgate_telemetry::metrics::render_with(accept, &budgets);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Unknown paths and methods answer in the same error shape as every other
/// route (axum's defaults are empty bodies).
fn error(status: StatusCode, message: String) -> Response {
    let envelope = tollgate_shared::error::ErrorEnvelope::new(
        message,
        "invalid_request_error",
        status.as_u16(),
    );
    (status, Json(envelope)).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "Unknown route {method} {} on the control plane's HTTP port, which serves GET /health, GET /health/liveliness, GET /api/status and the dashboard at /ui; the OpenAI API is on the data planes.",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}: use GET.", uri.path()),
    )
}
