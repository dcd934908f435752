//! OpenAI's wire format: OpenAI itself and every OpenAI-compatible server
//! (Groq, Mistral, DeepSeek, Together, OpenRouter, vLLM, any `api_base`).

use super::BuildError;
use super::error::ProviderError;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;
use tollgate_shared::snapshot::Deployment;

#[derive(Debug)]
pub struct OpenAiUpstream {
    provider: &'static str,
    api_base: String,
    /// Parsed once: reqwest would otherwise parse (and IDNA-normalise) the
    /// URL on every request.
    chat_url: reqwest::Url,
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
        let api_key = deployment
            .params
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .filter(|k| !k.is_empty());
        let authorization = match &api_key {
            Some(key) => {
                let mut value = HeaderValue::try_from(format!("Bearer {key}")).map_err(|_| {
                    BuildError::InvalidApiKey {
                        id: deployment.id.clone(),
                    }
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let organization = match &deployment.params.organization {
            Some(org) => Some(HeaderValue::try_from(org.as_str()).map_err(|_| {
                BuildError::InvalidHeader {
                    id: deployment.id.clone(),
                    field: "organization",
                }
            })?),
            None => None,
        };
        let chat_url =
            reqwest::Url::parse(&format!("{api_base}/chat/completions")).map_err(|_| {
                BuildError::InvalidApiBase {
                    id: deployment.id.clone(),
                    api_base: api_base.clone(),
                }
            })?;
        Ok(Self {
            provider,
            chat_url,
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

    /// Sends a chat request; a non-2xx answer becomes a [`ProviderError`].
    ///
    /// `whole_request` bounds the entire exchange (non-streamed calls);
    /// `to_headers` bounds only the wait for the response head, which is the
    /// time to first chunk for streams.
    pub async fn chat(
        &self,
        client: &reqwest::Client,
        body: Vec<u8>,
        whole_request: Option<Duration>,
        to_headers: Duration,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut request = client
            .post(self.chat_url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if let Some(org) = &self.organization {
            request = request.header("openai-organization", org.clone());
        }
        if let Some(limit) = whole_request {
            request = request.timeout(limit);
        }
        let response = match tokio::time::timeout(to_headers, request.send()).await {
            Err(_) => return Err(ProviderError::timeout(self.provider, to_headers)),
            Ok(Err(e)) if e.is_timeout() => {
                return Err(ProviderError::timeout(
                    self.provider,
                    whole_request.unwrap_or(to_headers),
                ));
            }
            Ok(Err(e)) => return Err(ProviderError::connection(self.provider, &self.api_base, &e)),
            Ok(Ok(response)) => response,
        };
        if !response.status().is_success() {
            return Err(ProviderError::from_response(
                self.provider,
                response,
                self.api_key.as_deref(),
            )
            .await);
        }
        Ok(response)
    }
}
