//! `GET /v1/models`: the model groups of the snapshot the caller may use.

use super::AppState;
use super::auth::authenticate;
use super::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(runtime) = app.live.runtime() else {
        return ApiError::not_ready().into_response();
    };
    let caller = match authenticate(&headers, &runtime) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    // Keys limited to some models (by their own, their team's or their
    // user's list) see only those (LiteLLM filters the same).
    let body = if caller.is_restricted() {
        let visible: Vec<String> = runtime
            .model_names()
            .iter()
            .filter(|m| caller.may_use(m))
            .cloned()
            .collect();
        runtime.models_body_for(&visible)
    } else {
        runtime.models_body()
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
