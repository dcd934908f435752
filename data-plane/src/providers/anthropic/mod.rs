//! Anthropic's Messages API (`anthropic/` models): OpenAI requests are
//! translated to `POST /v1/messages` and the answers (JSON or SSE) back to
//! OpenAI's shapes.

pub(super) mod error;
pub mod native;
mod request;
mod response;
mod stream;

pub use response::AnthropicUsage;

use super::BuildError;
use super::chat::{ChatCall, ChatOutput};
use super::error::ProviderError;
use super::exchange::{self, Target};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use serde_json::Value;
use tollgate_shared::snapshot::Deployment;

const PROVIDER: &str = "anthropic";
const DEFAULT_API_BASE: &str = "https://api.anthropic.com";
/// The API version every current Messages feature is available under.
const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct AnthropicUpstream {
    api_base: String,
    /// `{api_base}/v1/messages`, parsed once.
    messages_uri: Uri,
    /// `x-api-key`, marked sensitive so it never prints.
    api_key_header: Option<HeaderValue>,
    /// Kept to scrub provider messages that echo it.
    api_key: Option<String>,
}

impl AnthropicUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let api_base = deployment
            .params
            .api_base
            .clone()
            .or_else(|| std::env::var("ANTHROPIC_API_BASE").ok())
            .unwrap_or_else(|| DEFAULT_API_BASE.to_string())
            .trim_end_matches('/')
            .to_string();
        // LiteLLM accepts the base or the full endpoint as `api_base`.
        let url = if api_base.ends_with("/v1/messages") {
            api_base.clone()
        } else {
            format!("{api_base}/v1/messages")
        };
        let messages_uri: Uri = url.parse().map_err(|_| BuildError::InvalidApiBase {
            id: deployment.id.clone(),
            api_base: api_base.clone(),
        })?;
        let api_key = super::api_key(deployment, Some("ANTHROPIC_API_KEY"));
        let api_key_header = api_key
            .as_deref()
            .map(|key| super::secret_header(key, &deployment.id))
            .transpose()?;
        Ok(Self {
            api_base,
            messages_uri,
            api_key_header,
            api_key,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    fn request(&self, body: Vec<u8>) -> Result<http::Request<Full<Bytes>>, http::Error> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(self.messages_uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(
                "anthropic-version",
                HeaderValue::from_static(ANTHROPIC_VERSION),
            );
        if let Some(key) = &self.api_key_header {
            builder = builder.header("x-api-key", key.clone());
        }
        builder.body(Full::new(Bytes::from(body)))
    }

    /// Translates, sends, translates back. Timeouts as for OpenAI: the whole
    /// exchange when not streamed, up to the response head when streamed.
    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        let (mut body, meta) = request::translate(&call.body, call.drop_params)?;
        if call.stream {
            body.insert("stream".into(), Value::Bool(true));
        }
        let body = serde_json::to_vec(&body).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let request = self
            .request(body)
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
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
            let ctx = stream::StreamContext {
                model_group: call.model_group.to_string(),
                created,
                include_usage: call.include_usage,
                meta,
                fallback_id: format!("chatcmpl-{}", call.request_id),
            };
            let body = http_body_util::BodyDataStream::new(response.into_body());
            return Ok(ChatOutput::Stream(stream::events(body, ctx)));
        }
        let bytes = exchange::send_json(call.client, request, &target, call.timeout).await?;
        let ctx = response::ResponseContext {
            model_group: call.model_group,
            created,
            meta,
        };
        let (body, usage) = response::translate(&bytes, ctx)
            .map_err(|e| ProviderError::bad_gateway(format!("{PROVIDER}: {e}")))?;
        Ok(ChatOutput::Complete {
            body: Bytes::from(body.to_string()),
            usage,
        })
    }
}
