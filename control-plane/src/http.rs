//! The control plane's HTTP port: liveness and the status API (the web
//! dashboard's data source).

use crate::master_key::bearer;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/status", get(status))
        .with_state(state);
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
