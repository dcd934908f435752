//! Ollama through its native API (`ollama/` and `ollama_chat/` models):
//! `POST {api_base}/api/chat`, JSON or NDJSON streaming, no auth by default
//! (an `api_key` is sent as a bearer token, for Ollama behind a proxy).
//!
//! Both prefixes use `/api/chat`. LiteLLM sends `ollama/` models to
//! `/api/generate` (a prompt flattened from the messages), but a gateway
//! serving `/v1/chat/completions` owes its users a real multi-turn chat with
//! roles, images and tools, which only `/api/chat` gives.

pub(super) mod error;
mod ndjson;
mod request;
mod response;
mod stream;

use super::BuildError;
use super::chat::{ChatCall, ChatOutput};
use super::error::ProviderError;
use super::exchange::{self, Target};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use serde_json::Value;
use tollgate_shared::snapshot::Deployment;

const PROVIDER: &str = "ollama";
const DEFAULT_API_BASE: &str = "http://localhost:11434";

#[derive(Debug)]
pub struct OllamaUpstream {
    api_base: String,
    chat_uri: Uri,
    authorization: Option<HeaderValue>,
    api_key: Option<String>,
}

impl OllamaUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let api_base = deployment
            .params
            .api_base
            .as_deref()
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
            .to_string();
        let chat_uri: Uri =
            format!("{api_base}/api/chat")
                .parse()
                .map_err(|_| BuildError::InvalidApiBase {
                    id: deployment.id.clone(),
                    api_base: api_base.clone(),
                })?;
        let api_key = super::api_key(deployment, None);
        let authorization = api_key
            .as_deref()
            .map(|key| super::secret_header(&format!("Bearer {key}"), &deployment.id))
            .transpose()?;
        Ok(Self {
            api_base,
            chat_uri,
            authorization,
            api_key,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    fn request(&self, body: Vec<u8>) -> Result<http::Request<Full<Bytes>>, ProviderError> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(self.chat_uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::internal(PROVIDER, &e))
    }

    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        let translated = request::translate(&call.body, call.stream, call.drop_params)?;
        let body =
            serde_json::to_vec(&translated).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let request = self.request(body)?;
        let id = format!("chatcmpl-{}", call.request_id);
        let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let target = Target {
            provider: PROVIDER,
            api_base: &self.api_base,
            secret: self.api_key.as_deref(),
            decode: error::decode,
        };
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
        let parsed: Value = serde_json::from_slice(&bytes)
            .map_err(|e| error::upstream(&format!("unexpected response: {e}")))?;
        let (body, usage) = response::completion(&parsed, &id, call.model_group, created);
        Ok(ChatOutput::Complete {
            body: Bytes::from(body.to_string()),
            usage,
        })
    }
}
