//! Google Gemini through AI Studio's REST API (`gemini/` models):
//! `POST {api_base}/v1beta/models/{model}:generateContent`, streamed through
//! `:streamGenerateContent?alt=sse`, authenticated by `x-goog-api-key` (never
//! by the `key` query parameter, which would put the key in URLs and logs).

mod embeddings;
pub(super) mod error;
mod request;
mod response;
mod schema;
mod sse;
mod stream;

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

const PROVIDER: &str = "gemini";
const DEFAULT_API_BASE: &str = "https://generativelanguage.googleapis.com";

#[derive(Debug)]
pub struct GeminiUpstream {
    api_base: String,
    /// `x-goog-api-key`, marked sensitive so it never prints.
    api_key_header: Option<HeaderValue>,
    /// Kept to scrub provider messages that echo it.
    api_key: Option<String>,
}

impl GeminiUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let api_base = deployment
            .params
            .api_base
            .as_deref()
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
            .to_string();
        // `api_base` may be given with or without the version segment.
        let api_base = api_base
            .strip_suffix("/v1beta")
            .map(str::to_string)
            .unwrap_or(api_base);
        if api_base.parse::<Uri>().is_err() {
            return Err(BuildError::InvalidApiBase {
                id: deployment.id.clone(),
                api_base,
            });
        }
        let api_key = super::api_key(deployment, None);
        let api_key_header = api_key
            .as_deref()
            .map(|key| super::secret_header(key, &deployment.id))
            .transpose()?;
        Ok(Self {
            api_base,
            api_key_header,
            api_key,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Who is called, for [`exchange`]: errors in Gemini's classes.
    fn target(&self) -> Target<'_> {
        Target {
            provider: PROVIDER,
            api_base: &self.api_base,
            secret: self.api_key.as_deref(),
            decode: error::decode,
        }
    }

    fn request(
        &self,
        model: &str,
        stream: bool,
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, ProviderError> {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let uri = if stream {
            format!(
                "{}/v1beta/models/{model}:streamGenerateContent?alt=sse",
                self.api_base
            )
        } else {
            format!("{}/v1beta/models/{model}:generateContent", self.api_base)
        };
        let uri: Uri = uri.parse().map_err(|_| {
            request::invalid("model", format!("`{model}` cannot be used in a Gemini URL"))
        })?;
        self.post(uri, body)
    }

    /// A POST of `body` to `uri` with this deployment's key.
    fn post(&self, uri: Uri, body: Vec<u8>) -> Result<http::Request<Full<Bytes>>, ProviderError> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &self.api_key_header {
            builder = builder.header("x-goog-api-key", key.clone());
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::internal(PROVIDER, &e))
    }

    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        let model = call
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let translated = request::translate(&call.body, call.drop_params)?;
        let body =
            serde_json::to_vec(&translated).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let request = self.request(&model, call.stream, body)?;
        let id = format!("chatcmpl-{}", call.request_id);
        let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let target = self.target();
        if call.stream {
            let response =
                exchange::send_streaming(call.client, request, &target, call.stream_timeout)
                    .await?;
            let translator = stream::Translator::new(
                id,
                call.model_group.to_string(),
                created,
                call.include_usage,
            );
            return Ok(ChatOutput::Stream(stream::events(
                response.into_body(),
                translator,
            )));
        }
        let bytes = exchange::send_json(call.client, request, &target, call.timeout).await?;
        let parsed: Value =
            serde_json::from_slice(&bytes).map_err(|e| error::malformed(&e.to_string()))?;
        let (body, usage) = response::completion(&parsed, &id, call.model_group, created)?;
        Ok(ChatOutput::Complete {
            body: Bytes::from(body.to_string()),
            usage,
        })
    }
}
