//! The endpoints a provider answers in OpenAI's shape that are not chat:
//! images, audio (speech bytes, transcriptions from a multipart upload),
//! moderations and rerank. The body goes out as the gateway prepared it
//! (JSON or multipart) and the answer comes back with its content type.
//!
//! OpenAI-format servers take `{api_base}{path}`; Azure the deployment's
//! `{api_base}/openai/deployments/{name}/{path}?api-version=…`; Cohere's
//! and Jina's rerank their own `/v2/rerank` and `/v1/rerank`, with a bearer
//! key (`COHERE_API_KEY`, `JINA_AI_API_KEY` when the deployment has none).

use super::Upstream;
use super::client::HttpClient;
use super::error::ProviderError;
use super::exchange::{self, Target};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use std::time::Duration;
use tollgate_shared::provider::ProviderKind;
use tollgate_shared::snapshot::Deployment as Configured;

pub struct RelayCall<'a> {
    pub client: &'a HttpClient,
    /// Under the API root, e.g. `/images/generations`.
    pub path: &'static str,
    pub body: Vec<u8>,
    pub content_type: HeaderValue,
    pub timeout: Duration,
}

/// A 2xx answer: its body and content type.
pub struct Relayed {
    pub body: Bytes,
    pub content_type: Option<HeaderValue>,
}

impl Upstream {
    pub async fn relay(
        &self,
        configured: &Configured,
        call: RelayCall<'_>,
    ) -> Result<Relayed, ProviderError> {
        match self {
            Upstream::OpenAi(upstream) => {
                let mut request = upstream.post(call.path, call.body)?;
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, call.content_type);
                answer(call.client, request, &upstream.target(), call.timeout).await
            }
            Upstream::Azure(upstream) => {
                let operation = call.path.trim_start_matches('/');
                let uri = upstream.operation_uri(operation).ok_or_else(|| {
                    ProviderError::invalid_request(
                        format!("azure: cannot address `{operation}` for this deployment"),
                        None,
                    )
                })?;
                let mut request = upstream
                    .request_to(&uri, call.body)
                    .map_err(|e| ProviderError::internal("azure", &e))?;
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, call.content_type);
                answer(call.client, request, &upstream.target(), call.timeout).await
            }
            Upstream::Unsupported(kind @ (ProviderKind::Cohere | ProviderKind::JinaAi)) => {
                rerank_provider(*kind, configured, call).await
            }
            other => Err(ProviderError::invalid_request(
                format!(
                    "`{}` is not served for provider `{}` by this Tollgate version",
                    call.path,
                    other.provider_name()
                ),
                Some("model"),
            )),
        }
    }
}

/// Cohere's and Jina's own APIs (rerank), addressed from the deployment's
/// config on each call: they have no chat client built per snapshot.
async fn rerank_provider(
    kind: ProviderKind,
    configured: &Configured,
    call: RelayCall<'_>,
) -> Result<Relayed, ProviderError> {
    let (default_base, env, path) = match kind {
        ProviderKind::Cohere => ("https://api.cohere.com", "COHERE_API_KEY", "/v2/rerank"),
        _ => ("https://api.jina.ai", "JINA_AI_API_KEY", "/v1/rerank"),
    };
    if call.path != "/rerank" {
        return Err(ProviderError::invalid_request(
            format!("provider `{}` serves rerank only", kind.as_str()),
            Some("model"),
        ));
    }
    let provider = kind.as_str();
    let base = configured
        .params
        .api_base
        .as_deref()
        .filter(|b| !b.is_empty())
        .unwrap_or(default_base)
        .trim_end_matches('/');
    let uri: Uri = format!("{base}{path}")
        .parse()
        .map_err(|e| ProviderError::internal(provider, &e))?;
    let key = super::api_key(configured, Some(env));
    let mut builder = http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, call.content_type);
    if let Some(key) = &key {
        let mut value = HeaderValue::try_from(format!("Bearer {key}"))
            .map_err(|e| ProviderError::internal(provider, &e))?;
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    let request = builder
        .body(Full::new(Bytes::from(call.body)))
        .map_err(|e| ProviderError::internal(provider, &e))?;
    let target = Target {
        provider,
        api_base: base,
        secret: key.as_deref(),
        decode: exchange::openai_error,
    };
    answer(call.client, request, &target, call.timeout).await
}

async fn answer(
    client: &HttpClient,
    request: http::Request<Full<Bytes>>,
    target: &Target<'_>,
    timeout: Duration,
) -> Result<Relayed, ProviderError> {
    let response = exchange::send_whole(client, request, target, timeout).await?;
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    Ok(Relayed {
        body: response.into_body(),
        content_type,
    })
}
