//! `GET /v1/models`: the model groups of the snapshot.

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
    if let Err(e) = authenticate(&headers, &runtime) {
        return e.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        runtime.models_body(),
    )
        .into_response()
}
