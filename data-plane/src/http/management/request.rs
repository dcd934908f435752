//! What every management route does first: authenticate the caller against
//! the snapshot (401 in LiteLLM's words, without a control-plane round
//! trip) and read the JSON body. Authorization is the control plane's: it
//! gets the caller's key with every call.

use crate::http::AppState;
use crate::http::auth::{Caller, authenticate};
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::convert::string;

pub type Result<T> = std::result::Result<T, ApiError>;

pub fn caller(app: &AppState, headers: &HeaderMap) -> Result<Caller> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    authenticate(headers, &runtime)
}

/// The body as a JSON object; empty = `{}`.
pub fn object(body: &Bytes) -> Result<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "Request body must be a JSON object.",
            None,
        )),
        Err(e) => Err(ApiError::bad_request(
            format!("Request body is not valid JSON: {e}."),
            None,
        )),
    }
}

pub fn required(body: &Map<String, Value>, name: &str) -> Result<String> {
    string(body, name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` is required."), Some(name)))
}

/// A required, non-empty list of ids (`team_ids`, `user_ids`).
pub fn required_ids(body: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    super::convert::strings(body, name)?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                format!("`{name}` is required: a non-empty list of ids."),
                Some(name),
            )
        })
}
