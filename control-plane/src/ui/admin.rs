//! In-process AdminService calls with the session's role, so the
//! dashboard's rights are exactly the management API's.

use super::UiError;
use super::error;
use super::session::Session;
use crate::grpc::AdminService;
use crate::state::AppState;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

/// The fleet headers of a write (`x-tollgate-applied: 2/2`).
#[derive(Debug, Default)]
pub struct Applied(Vec<(&'static str, String)>);

const FORWARDED: [&str; 2] = ["x-tollgate-applied", "x-tollgate-snapshot-version"];

pub async fn call<T, R>(
    app: &AppState,
    session: &Session,
    message: T,
    method: impl AsyncFnOnce(
        &AdminService,
        tonic::Request<T>,
    ) -> Result<tonic::Response<R>, tonic::Status>,
) -> Result<(R, Applied), UiError> {
    let service = AdminService::new(app.clone());
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(session.role.principal());
    let response = method(&service, request).await.map_err(from_status)?;
    let applied = Applied(
        FORWARDED
            .iter()
            .filter_map(|name| {
                let v = response.metadata().get(*name)?.to_str().ok()?;
                Some((*name, v.to_string()))
            })
            .collect(),
    );
    Ok((response.into_inner(), applied))
}

/// JSON with the write's fleet headers.
pub fn reply(body: Value, applied: Applied) -> Response {
    let mut response = Json(body).into_response();
    for (name, value) in applied.0 {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// gRPC status → the HTTP error the management routes give for it.
pub fn from_status(status: tonic::Status) -> UiError {
    use tonic::Code;
    let message = status.message().to_string();
    match status.code() {
        Code::InvalidArgument | Code::AlreadyExists => {
            error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
        }
        Code::NotFound => error(StatusCode::NOT_FOUND, "not_found_error", message),
        Code::Unauthenticated => error(StatusCode::UNAUTHORIZED, "auth_error", message),
        Code::PermissionDenied => error(StatusCode::FORBIDDEN, "permission_error", message),
        _ => super::internal(message),
    }
}
