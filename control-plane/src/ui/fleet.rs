//! Fleet and settings: each data plane's applied version and hash, last
//! heartbeat, NACKs; the config file's status (last load error, warnings);
//! the config in force with its secrets redacted (`publisher/redact.rs`);
//! the dashboard's own session settings. No secret is in any of it: the
//! status view holds ids, versions, hashes and error texts only.

use super::guard::Authed;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

pub async fn fleet(State(app): State<AppState>, Authed(_): Authed) -> Response {
    let status = app.status();
    let timeouts = app.ui.sessions.timeouts();
    Json(json!({
        "control_plane": {
            "version": env!("CARGO_PKG_VERSION"),
            "snapshot": status.snapshot,
            "apply_wait_ms": app.apply_wait.as_millis() as u64,
        },
        "data_planes": status.data_planes,
        "laggards": status.laggards,
        "config": status.config,
        "effective_config": app.publisher.effective_config(),
        "ui": {
            "sessions": app.ui.sessions.count().await,
            "idle_timeout_s": timeouts.idle.as_secs(),
            "absolute_timeout_s": timeouts.absolute.as_secs(),
            "username": app.ui.username,
            "password_source": if app.ui.password.is_some() { "UI_PASSWORD" } else { "master key" },
        },
    }))
    .into_response()
}
