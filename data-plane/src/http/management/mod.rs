//! LiteLLM's management routes (`/key/*`, …) on the data-plane port. The
//! control plane is the only writer: each route translates LiteLLM's JSON
//! into a typed AdminService call, forwarding the caller's key, and the
//! answer back into LiteLLM's JSON shape.

mod convert;
mod customers;
mod keys;
mod org_convert;
mod request;
mod spend;
mod teams;
mod users;

pub use keys::routes as key_routes;
pub use spend::routes as spend_routes;

/// `/team/*`, `/user/*`, `/customer/*` (and `/end_user/*`).
pub fn org_routes() -> axum::Router<super::AppState> {
    teams::routes()
        .merge(users::routes())
        .merge(customers::routes())
}

use super::error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use tonic::metadata::MetadataValue;

/// Forwards the caller's key to the control plane, which authorizes it.
fn forwarded<T>(headers: &HeaderMap, message: T) -> Result<tonic::Request<T>, ApiError> {
    let mut request = tonic::Request::new(message);
    let key = super::auth::presented_key(headers).ok_or_else(|| {
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
