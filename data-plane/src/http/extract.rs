//! axum's query and path extractors, with their refusals in OpenAI's error
//! shape: axum answers a malformed query string (`?limit=abc`) with a
//! plain-text 400 that an SDK cannot parse.

use super::error::ApiError;
use axum::extract::{FromRequestParts, Path, Query};
use http::request::Parts;
use serde::de::DeserializeOwned;

/// `Query<T>` whose rejection is a 400 `invalid_request_error`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request(
                format!(
                    "The query string cannot be parsed: {}. Fix the parameter and resend the request.",
                    rejection.body_text()
                ),
                None,
            )),
        }
    }
}

/// `Path<T>` whose rejection is a 400 `invalid_request_error`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request(
                format!(
                    "The path cannot be parsed: {}. Check the URL.",
                    rejection.body_text()
                ),
                None,
            )),
        }
    }
}
