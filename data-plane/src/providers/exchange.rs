//! One HTTP exchange with a provider, bounded by the deployment's timeouts,
//! with non-2xx answers read into [`ProviderError`] by the provider's own
//! decoder. Every provider sends through here.

use super::client::{HttpClient, RequestBody};
use super::error::{ErrorAnswer, ProviderError};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::time::Duration;

/// Reads a non-2xx answer into the provider's error classes.
pub type ErrorDecoder = fn(&Target<'_>, &ErrorAnswer) -> ProviderError;

/// Who is called, for error messages and scrubbing.
pub struct Target<'a> {
    pub provider: &'a str,
    pub api_base: &'a str,
    /// Scrubbed from provider messages that echo it.
    pub secret: Option<&'a str>,
    /// How the provider's error answers read ([`openai_error`] for OpenAI's
    /// envelope and the variants compatible servers send).
    pub decode: ErrorDecoder,
}

/// The shared reading of an error answer: OpenAI's envelope and its common
/// variants, nothing provider-specific.
pub fn openai_error(target: &Target<'_>, answer: &ErrorAnswer) -> ProviderError {
    ProviderError::from_answer(target.provider, answer, target.secret)
}

/// Sends `request` and reads the whole 2xx body within `timeout`.
pub async fn send_json(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    target: &Target<'_>,
    timeout: Duration,
) -> Result<Bytes, ProviderError> {
    send_whole(client, request, target, timeout)
        .await
        .map(http::Response::into_body)
}

/// Like [`send_json`], keeping the response head (for providers that
/// report in headers).
pub async fn send_whole(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    target: &Target<'_>,
    timeout: Duration,
) -> Result<http::Response<Bytes>, ProviderError> {
    let exchange = async {
        let (head, body) = send(client, request, target).await?.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| ProviderError::connection(target.provider, target.api_base, &e))?;
        Ok(http::Response::from_parts(head, body))
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
    mut request: http::Request<RequestBody>,
    target: &Target<'_>,
) -> Result<http::Response<Incoming>, ProviderError> {
    // The provider attempt's own context (the current span here), so the
    // provider's span is its child; the caller's header never goes on.
    tollgate_telemetry::propagation::inject_current(request.headers_mut());
    let response = client
        .send(request)
        .await
        .map_err(|e| ProviderError::connection(target.provider, target.api_base, &e))?;
    if !response.status().is_success() {
        return Err((target.decode)(target, &ErrorAnswer::read(response).await));
    }
    Ok(response)
}
