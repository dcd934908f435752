//! `GET /metrics` (and `/metrics/`): Prometheus text, or OpenMetrics when
//! the scraper's `Accept` asks for it. With LiteLLM's
//! `general_settings.require_auth_for_metrics_endpoint: true` only the
//! master key may scrape.

use super::AppState;
use super::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(runtime) = app.live.runtime()
        && runtime.otel.metrics_require_auth
    {
        match super::auth::authenticate(&headers, &runtime) {
            Ok(caller) if caller.key.is_none() => {}
            Ok(_) => {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "auth_error",
                    "/metrics needs the master key (require_auth_for_metrics_endpoint is on).",
                )
                .into_response();
            }
            Err(e) => return e.into_response(),
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = crate::metrics::scrape(&app, accept);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}
