//! Anthropic's own API relayed as the client wrote it (the gateway's
//! `/v1/messages` for Anthropic deployments): the body goes out with the
//! deployment's key and the client's `anthropic-version` / `anthropic-beta`,
//! and the answer comes back untranslated.

use super::{ANTHROPIC_VERSION, AnthropicUpstream, PROVIDER, error};
use crate::providers::HttpClient;
use crate::providers::error::ProviderError;
use crate::providers::exchange::{self, Target};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method, Uri};
use http_body_util::Full;
use std::time::Duration;

/// Which of Anthropic's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
}

pub struct NativeCall<'a> {
    pub client: &'a HttpClient,
    pub endpoint: Endpoint,
    /// The Messages body, model already the deployment's.
    pub body: Vec<u8>,
    /// `anthropic-version` and `anthropic-beta` as the client sent them.
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub stream: bool,
    pub timeout: Duration,
    pub stream_timeout: Duration,
}

pub enum NativeAnswer {
    Whole(Bytes),
    Stream(hyper::body::Incoming),
}

impl AnthropicUpstream {
    fn native_uri(&self, endpoint: Endpoint) -> Result<Uri, ProviderError> {
        match endpoint {
            Endpoint::Messages => Ok(self.messages_uri.clone()),
            Endpoint::CountTokens => format!("{}/count_tokens", self.messages_uri)
                .parse()
                .map_err(|e| ProviderError::internal(PROVIDER, &e)),
        }
    }

    pub async fn native(&self, call: NativeCall<'_>) -> Result<NativeAnswer, ProviderError> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(self.native_uri(call.endpoint)?)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut versioned = false;
        for (name, value) in call.headers {
            versioned |= name == "anthropic-version";
            builder = builder.header(name, value);
        }
        if !versioned {
            builder = builder.header(
                "anthropic-version",
                HeaderValue::from_static(ANTHROPIC_VERSION),
            );
        }
        if let Some(key) = &self.api_key_header {
            builder = builder.header("x-api-key", key.clone());
        }
        let request = builder
            .body(Full::new(Bytes::from(call.body)))
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let target = Target {
            provider: PROVIDER,
            api_base: &self.api_base,
            secret: self.api_key.as_deref(),
            decode: |target, answer| error::normalise(exchange::openai_error(target, answer)),
        };
        if call.stream {
            let response =
                exchange::send_streaming(call.client, request, &target, call.stream_timeout)
                    .await?;
            return Ok(NativeAnswer::Stream(response.into_body()));
        }
        let bytes = exchange::send_json(call.client, request, &target, call.timeout).await?;
        Ok(NativeAnswer::Whole(bytes))
    }
}
