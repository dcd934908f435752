//! Liveness and readiness, in LiteLLM's paths.

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn liveliness() -> Json<&'static str> {
    Json("I'm alive!")
}

/// 503 until a snapshot is applied (from the control plane or from disk),
/// then 200: a load balancer never routes to a node that cannot serve.
pub async fn readiness(State(app): State<AppState>) -> Response {
    let control_plane = if app.live.control_plane_connected() {
        "connected"
    } else {
        "disconnected"
    };
    match app.live.applied() {
        Some(applied) => Json(json!({
            "status": "ready",
            "node_id": app.live.node_id,
            "snapshot_version": applied.version,
            "snapshot_hash": applied.content_hash,
            "snapshot_source": applied.source,
            "control_plane": control_plane,
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not_ready",
                "reason": "no snapshot applied yet (none received from the control plane, none saved on disk)",
                "node_id": app.live.node_id,
                "control_plane": control_plane,
            })),
        )
            .into_response(),
    }
}
