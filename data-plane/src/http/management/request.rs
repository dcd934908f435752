//! What every management route does: authenticate the caller against the
//! snapshot (401 in LiteLLM's words, without a control-plane round trip),
//! read the JSON body or query, and call the control plane. Authorization is
//! the control plane's: it gets the caller's key with every call.

use crate::http::AppState;
use crate::http::auth::{Caller, authenticate};
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use serde_json::{Map, Value};
use tollgate_proto::v1::admin_service_client::AdminServiceClient;
use tollgate_proto::v1::spend_service_client::SpendServiceClient;
use tonic::metadata::MetadataValue;

use super::convert::string;

pub type Result<T> = std::result::Result<T, ApiError>;
/// A route's answer: LiteLLM's JSON, or its error.
pub type Reply = Result<Json<Value>>;
pub type Admin = AdminServiceClient<crate::http::InterceptedChannel>;
pub type Spend = SpendServiceClient<crate::http::InterceptedChannel>;

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

/// A required query parameter (`?team_id=…`): absent or empty is a 400.
pub fn required_param(value: Option<String>, name: &str) -> Result<String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` is required."), Some(name)))
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

/// Calls the control plane (`client` is `app.admin` or `app.spend`) with the
/// caller's key, e.g. `call(&app.admin, &headers, request, Admin::get_team)`;
/// its gRPC errors become LiteLLM's HTTP errors.
pub async fn call<C: Clone, T, R>(
    client: &C,
    headers: &HeaderMap,
    message: T,
    method: impl AsyncFnOnce(
        &mut C,
        tonic::Request<T>,
    ) -> std::result::Result<tonic::Response<R>, tonic::Status>,
) -> Result<R> {
    let request = forwarded(headers, message)?;
    let mut client = client.clone();
    let response = method(&mut client, request).await.map_err(from_status)?;
    super::applied::record(response.metadata());
    Ok(response.into_inner())
}

/// Forwards the caller's key to the control plane, which authorizes it.
fn forwarded<T>(headers: &HeaderMap, message: T) -> Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    let key = crate::http::auth::presented_key(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Authentication Error, No api key passed in. Management routes need the master key.",
        )
    })?;
    let mut value: MetadataValue<_> = format!("Bearer {key}").parse().map_err(|_| {
        ApiError::bad_request("The key contains characters not allowed in a header.", None)
    })?;
    value.set_sensitive(true);
    request.metadata_mut().insert("authorization", value);
    tollgate_telemetry::propagation::inject_into_metadata(request.metadata_mut());
    Ok(request)
}

/// gRPC status → the HTTP error LiteLLM gives for the same situation.
fn from_status(status: tonic::Status) -> ApiError {
    use tonic::Code;
    let message = status.message().to_string();
    match status.code() {
        Code::InvalidArgument => ApiError::bad_request(message, None),
        // LiteLLM answers a duplicate alias with 400.
        Code::AlreadyExists => ApiError::bad_request(message, None),
        Code::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found_error", message),
        Code::Unauthenticated => ApiError::new(StatusCode::UNAUTHORIZED, "auth_error", message),
        Code::PermissionDenied => ApiError::new(StatusCode::FORBIDDEN, "permission_error", message),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The control plane is unreachable: management changes need it (inference keeps working). Retry when it is back.",
        ),
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            message,
        ),
    }
}
