//! Liveness and readiness, in LiteLLM's paths and bodies.
//!
//! LiteLLM's clients, compose health checks and dashboards read its exact
//! readiness body (`"status": "healthy"`, `"db"`, `"litellm_version"`, …),
//! so that body is reproduced field for field; Tollgate's own fields (the
//! snapshot served, the control-plane connection) sit beside them.
//!
//! `db`: a data plane has no database. What plays that part for it is the
//! control plane, the source of every snapshot: `"connected"` while its
//! config stream is up, `"disconnected"` while it is away and the node
//! serves its last snapshot (LiteLLM's word for a configured database it
//! cannot reach). LiteLLM's third value, `"Not connected"` (no database
//! configured), never applies: a data plane always has a control plane.

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::level_filters::LevelFilter;

/// The LiteLLM release whose API Tollgate follows, reported where LiteLLM
/// reports its own version (clients compare it to gate features); Tollgate's
/// own version is `version`.
pub const LITELLM_COMPATIBLE_VERSION: &str = "1.106.2";

pub async fn liveliness() -> Json<&'static str> {
    Json("I'm alive!")
}

/// `OPTIONS` on the health routes, as LiteLLM answers it (CORS preflight
/// from dashboards).
pub async fn options() -> impl IntoResponse {
    const METHODS: HeaderValue = HeaderValue::from_static("GET, OPTIONS");
    [
        (header::ALLOW, METHODS),
        (header::ACCESS_CONTROL_ALLOW_METHODS, METHODS),
        (
            HeaderName::from_static("access-control-allow-headers"),
            HeaderValue::from_static("*"),
        ),
    ]
}

/// 503 until a snapshot is applied (from the control plane or from disk),
/// then 200: a load balancer never routes to a node that cannot serve.
pub async fn readiness(State(app): State<AppState>) -> Response {
    let connected = app.live.control_plane_connected();
    let mut body = litellm_fields(connected);
    if app.live.draining() {
        // After SIGTERM: still serving what arrives, but a load balancer's
        // health check takes this node out before it stops accepting.
        merge(
            &mut body,
            json!({
                "status": "unhealthy",
                "detail": "Service Unhealthy (draining: shutting down)",
                "node_id": app.live.node_id,
                "draining": true,
                "control_plane": control_plane(connected),
                "version": env!("CARGO_PKG_VERSION"),
            }),
        );
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let extra = match app.live.applied() {
        Some(applied) => json!({
            "node_id": app.live.node_id,
            "snapshot_version": applied.version,
            "snapshot_hash": applied.content_hash,
            "snapshot_source": applied.source,
            "control_plane": control_plane(connected),
            "version": env!("CARGO_PKG_VERSION"),
        }),
        None => {
            // LiteLLM's unhealthy answer is a 503 whose `detail` says why;
            // the rest of the body still tells a dashboard what it is.
            let reason = "no snapshot applied yet (none received from the control plane, none saved on disk): check --control-plane and --cluster-token, and that the control plane is running";
            let extra = json!({
                "status": "unhealthy",
                "detail": format!("Service Unhealthy ({reason})"),
                "node_id": app.live.node_id,
                "control_plane": control_plane(connected),
                "version": env!("CARGO_PKG_VERSION"),
            });
            merge(&mut body, extra);
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
    };
    merge(&mut body, extra);
    Json(body).into_response()
}

/// LiteLLM's readiness fields, with its values.
fn litellm_fields(connected: bool) -> Value {
    let level = LevelFilter::current();
    json!({
        "status": "healthy",
        "db": if connected { "connected" } else { "disconnected" },
        // Tollgate has no response cache.
        "cache": null,
        "litellm_version": LITELLM_COMPATIBLE_VERSION,
        // Tollgate runs no LiteLLM callbacks: usage goes to the control plane.
        "success_callbacks": [],
        "use_aiohttp_transport": false,
        "log_level": python_level_name(level),
        "is_detailed_debug": level >= LevelFilter::DEBUG,
    })
}

fn control_plane(connected: bool) -> &'static str {
    if connected {
        "connected"
    } else {
        "disconnected"
    }
}

/// Python's `logging.getLevelName`, which LiteLLM reports.
fn python_level_name(level: LevelFilter) -> &'static str {
    if level >= LevelFilter::DEBUG {
        "DEBUG"
    } else if level >= LevelFilter::INFO {
        "INFO"
    } else if level >= LevelFilter::WARN {
        "WARNING"
    } else if level >= LevelFilter::ERROR {
        "ERROR"
    } else {
        "CRITICAL"
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(extra)) = (into, extra) {
        into.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_as_python_names() {
        assert_eq!(python_level_name(LevelFilter::TRACE), "DEBUG");
        assert_eq!(python_level_name(LevelFilter::INFO), "INFO");
        assert_eq!(python_level_name(LevelFilter::WARN), "WARNING");
        assert_eq!(python_level_name(LevelFilter::OFF), "CRITICAL");
    }

    #[test]
    fn tollgate_fields_override_nothing_but_status() {
        let mut body = litellm_fields(false);
        merge(&mut body, json!({"status": "unhealthy", "node_id": "n"}));
        assert_eq!(body["status"], "unhealthy");
        assert_eq!(body["db"], "disconnected");
        assert_eq!(body["node_id"], "n");
        assert_eq!(body["cache"], Value::Null);
    }
}
