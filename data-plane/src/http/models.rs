//! `GET /v1/models`: the model groups of the snapshot the caller may use;
//! `GET /v1/models/{model}`: one of them (OpenAI's retrieve).

use super::AppState;
use super::auth::served_caller;
use super::error::ApiError;
use crate::http::extract::ApiPath;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let (runtime, caller) = match served_caller(&app, &headers) {
        Ok(served) => served,
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

/// OpenAI's model retrieve. A model the caller may not use is reported as
/// missing, as LiteLLM and OpenAI do, so a restricted key learns nothing
/// about the others.
pub async fn retrieve(
    State(app): State<AppState>,
    ApiPath(model): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let (runtime, caller) = match served_caller(&app, &headers) {
        Ok(served) => served,
        Err(e) => return e.into_response(),
    };
    if !caller.may_use(&model) {
        return model_not_found(&model);
    }
    // The object is the one the snapshot's model list holds (built once per
    // snapshot), so `created` and every field agree with GET /v1/models.
    let list: serde_json::Value = match serde_json::from_slice(&runtime.models_body()) {
        Ok(list) => list,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("could not read the model list: {e}"),
            )
            .into_response();
        }
    };
    match list["data"]
        .as_array()
        .and_then(|data| data.iter().find(|m| m["id"] == model.as_str()))
    {
        Some(object) => axum::Json(object).into_response(),
        None => model_not_found(&model),
    }
}

fn model_not_found(model: &str) -> Response {
    let mut e = ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!(
            "The model `{model}` does not exist or is not accessible with this key. GET /v1/models lists the models it may use."
        ),
    );
    e.body.error.param = Some("model".to_owned());
    e.into_response()
}
