//! One pass-through call to a deployment's provider, as a routed call: the
//! client's method, path, query, headers (its gateway key removed) and
//! body, byte for byte, with the deployment's credential. A retryable
//! failure (429, 5xx, timeouts, a bad deployment credential) is the
//! router's to retry or fall back from; any other answer — success or the
//! provider's own 4xx — goes back to the client as the provider sent it.

use super::families::{self, Credential, Family};
use crate::providers::{ErrorAnswer, HttpClient, ProviderError, RequestBody};
use crate::router::{FailureClass, Meter, Metered, Operation, Timeouts};
use crate::runtime::Deployment;
use crate::usage::tokenizer::Encoding;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// Request headers never relayed: the client's gateway key, hop-by-hop
/// headers, and those the gateway sets itself.
const DROPPED: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "x-litellm-api-key",
    "ocp-apim-subscription-key",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-authorization",
    "accept-encoding",
];

/// A configured endpoint has no deployment timeouts: the gateway's default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Response headers not copied back (the body is re-framed).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
];

pub struct PassThrough<'a> {
    pub client: &'a HttpClient,
    pub family: &'static Family,
    pub method: Method,
    /// The path under the route (`v1/messages`).
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body's `model`: a deployment whose model differs (the client
    /// named the model group, or the router fell back) gets the body with
    /// its own.
    pub model: Option<String>,
}

/// The provider's answer: head now, body streamed by the handler.
pub struct PassOutput {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: PassBody,
    /// The router's meter of the deployment that answered: it counts as
    /// in flight until the body ends, and is told the tokens then.
    pub meter: Option<Meter>,
}

pub enum PassBody {
    Whole(Bytes),
    Stream(hyper::body::Incoming),
}

impl Metered for PassOutput {
    fn meter(mut self, meter: Meter) -> Self {
        self.meter = Some(meter);
        self
    }
}

impl PassThrough<'_> {
    /// The body the deployment gets: as sent, or with its model.
    fn body_for(&self, deployment: &Deployment) -> Bytes {
        match &self.model {
            Some(model) if *model != deployment.upstream_model => {}
            _ => return self.body.clone(),
        }
        let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(&self.body) else {
            return self.body.clone();
        };
        object.insert(
            "model".into(),
            serde_json::Value::String(deployment.upstream_model.clone()),
        );
        serde_json::to_vec(&object).map_or_else(|_| self.body.clone(), Bytes::from)
    }

    /// The path the deployment gets: a model named in it (Bedrock's
    /// `model/{id}/…`, Gemini's `models/{model}:…`, Azure's
    /// `deployments/{name}/…`) that is not the deployment's — the client
    /// named the group, or the router fell back — becomes the deployment's.
    fn path_for(&self, deployment: &Deployment) -> String {
        match families::model_in_path(&self.path) {
            Some(named) if named != deployment.upstream_model => {
                families::with_model_in_path(&self.path, &deployment.upstream_model)
                    .unwrap_or_else(|| self.path.clone())
            }
            _ => self.path.clone(),
        }
    }

    /// Sends `path` to `credential`'s base; `deployment` (when one lends
    /// the credential) signs for Bedrock and bounds the exchange.
    pub async fn send(
        &self,
        client: &HttpClient,
        credential: &Credential,
        deployment: Option<&Deployment>,
        timeouts: Option<Timeouts>,
        path: &str,
        body: Bytes,
    ) -> Result<PassOutput, ProviderError> {
        let provider = self.family.name;
        let url = families::join(&credential.base, path, self.query.as_deref());
        let uri: http::Uri = url.parse().map_err(|_| {
            ProviderError::invalid_request(
                format!("{provider}: `{path}` is not a valid path"),
                None,
            )
        })?;
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(uri.clone());
        for (name, value) in &self.headers {
            if !DROPPED.contains(&name.as_str()) {
                builder = builder.header(name, value);
            }
        }
        for (name, value) in &credential.headers {
            builder = builder.header(name, value);
        }
        if let Some(bedrock) = deployment.and_then(|d| d.upstream.bedrock()) {
            let content_type = self
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            for (name, value) in
                bedrock.sign_pass_through(self.method.as_str(), &uri, content_type, &body)?
            {
                builder = builder.header(name, value);
            }
        }
        let request: http::Request<RequestBody> = builder
            .body(Full::new(body))
            .map_err(|e| ProviderError::internal(provider, &e))?;
        let (timeout, head_timeout) = match (timeouts, deployment) {
            (Some(t), _) => (t.total, t.first_chunk),
            (None, Some(d)) => (d.timeout, d.stream_timeout),
            (None, None) => (DEFAULT_TIMEOUT, DEFAULT_TIMEOUT),
        };
        let api_base = credential.base.as_str();
        let response = tokio::time::timeout(head_timeout, client.send(request))
            .await
            .map_err(|_| ProviderError::timeout(provider, head_timeout))?
            .map_err(|e| ProviderError::connection(provider, api_base, &e))?;
        let status = response.status();
        if FailureClass::of(status.as_u16(), None).retryable() && !status.is_success() {
            let answer = ErrorAnswer::read(response).await;
            return Err(ProviderError::from_answer(
                provider,
                &answer,
                credential.secret.as_deref(),
            ));
        }
        let streamed = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream") || t.contains("eventstream"));
        let (head, body) = response.into_parts();
        let body = if streamed {
            PassBody::Stream(body)
        } else {
            let bytes = tokio::time::timeout(timeout, body.collect())
                .await
                .map_err(|_| ProviderError::timeout(provider, timeout))?
                .map_err(|e| ProviderError::connection(provider, api_base, &e))?
                .to_bytes();
            PassBody::Whole(bytes)
        };
        Ok(PassOutput {
            status: head.status,
            headers: head.headers,
            body,
            meter: None,
        })
    }
}

impl Operation for PassThrough<'_> {
    type Output = PassOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: Timeouts,
    ) -> Result<PassOutput, ProviderError> {
        if !self.family.serves(deployment) {
            // 403: the router tries the group's other deployments and its
            // fallbacks, and cools nothing down.
            return Err(ProviderError {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "deployment {} is not a {} deployment: it cannot serve /{}/ requests",
                    deployment.id, self.family.name, self.family.name
                ),
                kind: "permission_error".into(),
                param: None,
                code: Some("403".into()),
                retry_after: None,
            });
        }
        let credential = families::of_deployment(self.family, deployment)?;
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        self.send(
            &client,
            &credential,
            Some(deployment),
            Some(timeouts),
            &self.path_for(deployment),
            self.body_for(deployment),
        )
        .await
    }

    fn prompt_tokens(&self, _encoding: Encoding) -> u64 {
        0
    }
}

/// Header names that are ours to set on the way back.
pub fn relayable(name: &HeaderName) -> bool {
    !HOP_BY_HOP.contains(&name.as_str())
}
