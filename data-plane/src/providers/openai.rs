//! OpenAI's wire format: OpenAI itself and every OpenAI-compatible server
//! (Groq, Mistral, DeepSeek, Together, OpenRouter, vLLM, any `api_base`).

use super::BuildError;
use super::chat::{ChatCall, ChatOutput};
use super::error::ProviderError;
use super::exchange::{self, Target};
use super::stream::{openai_events_keeping_usage_chunk, request_stream_usage, usage_in_body};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use tollgate_shared::snapshot::Deployment;

#[derive(Debug)]
pub struct OpenAiUpstream {
    provider: &'static str,
    api_base: String,
    /// Parsed once, not per request.
    chat_uri: Uri,
    /// `Bearer <api_key>`, marked sensitive so it never prints.
    authorization: Option<HeaderValue>,
    organization: Option<HeaderValue>,
    /// Kept to scrub provider messages that echo it.
    api_key: Option<String>,
}

impl OpenAiUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let provider = deployment.provider.as_str();
        let api_base = match (
            &deployment.params.api_base,
            deployment.provider.default_openai_base(),
        ) {
            (Some(base), _) => base.trim_end_matches('/').to_string(),
            (None, Some(default)) => default.to_string(),
            (None, None) => {
                return Err(BuildError::MissingApiBase {
                    id: deployment.id.clone(),
                    provider,
                });
            }
        };
        let api_key = super::api_key(deployment, None);
        let authorization = api_key
            .as_deref()
            .map(|key| super::secret_header(&format!("Bearer {key}"), &deployment.id))
            .transpose()?;
        let organization = match &deployment.params.organization {
            Some(org) => Some(HeaderValue::try_from(org.as_str()).map_err(|_| {
                BuildError::InvalidHeader {
                    id: deployment.id.clone(),
                    field: "organization",
                }
            })?),
            None => None,
        };
        let chat_uri: Uri = format!("{api_base}/chat/completions")
            .parse()
            .map_err(|_| BuildError::InvalidApiBase {
                id: deployment.id.clone(),
                api_base: api_base.clone(),
            })?;
        Ok(Self {
            provider,
            chat_uri,
            api_base,
            authorization,
            organization,
            api_key,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// A POST to `{api_base}{path}` with this deployment's auth headers: the
    /// other OpenAI endpoints (embeddings, legacy completions) share them.
    pub(super) fn post(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, ProviderError> {
        let uri: Uri = format!("{}{path}", self.api_base)
            .parse()
            .map_err(|e| ProviderError::internal(self.provider, &e))?;
        self.post_to(uri, body)
    }

    fn post_to(
        &self,
        uri: Uri,
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, ProviderError> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if let Some(org) = &self.organization {
            builder = builder.header("openai-organization", org.clone());
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::internal(self.provider, &e))
    }

    /// Who is called, for [`exchange`]: errors read in OpenAI's envelope.
    pub(super) fn target(&self) -> Target<'_> {
        Target {
            provider: self.provider,
            api_base: &self.api_base,
            secret: self.api_key.as_deref(),
            decode: exchange::openai_error,
        }
    }

    /// Sends a chat request; a non-2xx answer becomes a [`ProviderError`].
    ///
    /// Non-streamed calls are bounded by `timeout` as a whole; streamed calls
    /// by `stream_timeout` up to the response head (the first chunk follows
    /// it immediately with OpenAI-format servers), then not at all: a long
    /// answer is not a stuck one.
    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        let mut call = call;
        if call.stream {
            request_stream_usage(&mut call.body);
        }
        let body = serde_json::to_vec(&call.body)
            .map_err(|e| ProviderError::internal(self.provider, &e))?;
        let request = self.post_to(self.chat_uri.clone(), body)?;
        let target = self.target();
        if call.stream {
            let response =
                exchange::send_streaming(call.client, request, &target, call.stream_timeout)
                    .await?;
            return Ok(ChatOutput::Stream(openai_events_keeping_usage_chunk(
                response.into_body(),
                call.include_usage,
                Some(call.model_group.to_string()),
            )));
        }
        let body = exchange::send_json(call.client, request, &target, call.timeout).await?;
        let body = super::model_field::replace_model(&body, call.model_group)
            .map_or(body, bytes::Bytes::from);
        Ok(ChatOutput::Complete {
            usage: usage_in_body(&body),
            body,
        })
    }
}
