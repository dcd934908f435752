//! One HTTP exchange with a provider, bounded by the deployment's timeouts,
//! with non-2xx answers mapped to [`ProviderError`]. Shared by the endpoints
//! that add no translation of their own (embeddings, legacy completions).

use super::client::{HttpClient, RequestBody};
use super::error::ProviderError;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::time::Duration;

/// Who is called, for error messages and scrubbing.
pub struct Target<'a> {
    pub provider: &'a str,
    pub api_base: &'a str,
    /// Scrubbed from provider messages that echo it.
    pub secret: Option<&'a str>,
}

/// Sends `request` and reads the whole 2xx body within `timeout`.
pub async fn send_json(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    target: &Target<'_>,
    timeout: Duration,
) -> Result<Bytes, ProviderError> {
    let exchange = async {
        let response = send(client, request, target).await?;
        response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| ProviderError::connection(target.provider, target.api_base, &e))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ProviderError::timeout(target.provider, timeout))?
}

/// Sends `request` and returns the 2xx response head within `timeout`; the
/// body is streamed by the caller.
pub async fn send_streaming(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    target: &Target<'_>,
    timeout: Duration,
) -> Result<http::Response<Incoming>, ProviderError> {
    tokio::time::timeout(timeout, send(client, request, target))
        .await
        .map_err(|_| ProviderError::timeout(target.provider, timeout))?
}

async fn send(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    target: &Target<'_>,
) -> Result<http::Response<Incoming>, ProviderError> {
    let response = client
        .send(request)
        .await
        .map_err(|e| ProviderError::connection(target.provider, target.api_base, &e))?;
    if !response.status().is_success() {
        return Err(ProviderError::from_response(target.provider, response, target.secret).await);
    }
    Ok(response)
}
