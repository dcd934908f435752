//! Azure OpenAI (`azure/<deployment>`): OpenAI's wire format at
//! `{api_base}/openai/deployments/{deployment}/chat/completions?api-version=…`,
//! authenticated by an `api-key` header.

use super::BuildError;
use super::chat::{ChatCall, ChatOutput};
use super::embeddings::{EmbeddingCall, EmbeddingOutput};
use super::error::ProviderError;
use super::exchange::{self, Target};
use super::stream::{openai_events_keeping_usage_chunk, request_stream_usage, usage_in_body};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use tollgate_shared::snapshot::Deployment;

const PROVIDER: &str = "azure";
/// The latest generally available data-plane API version; deployments pin
/// theirs with `api_version` (or `AZURE_API_VERSION`).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";
/// The first API version that accepts `stream_options` (older ones reject
/// unknown fields).
const STREAM_OPTIONS_SINCE: &str = "2024-09-01";

#[derive(Debug)]
pub struct AzureUpstream {
    api_base: String,
    chat_uri: Uri,
    embeddings_uri: Uri,
    /// `api-key`, marked sensitive so it never prints.
    api_key_header: Option<HeaderValue>,
    api_key: Option<String>,
    /// Streams can be asked for usage, so accounting always gets it.
    stream_usage: bool,
}

impl AzureUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let api_base = deployment
            .params
            .api_base
            .clone()
            .or_else(|| std::env::var("AZURE_API_BASE").ok())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| BuildError::MissingApiBase {
                id: deployment.id.clone(),
                provider: PROVIDER,
            })?
            .trim_end_matches('/')
            .to_string();
        let api_version = deployment
            .params
            .api_version
            .clone()
            .or_else(|| std::env::var("AZURE_API_VERSION").ok())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
        // API versions are dates (`2024-10-21`, `2025-01-01-preview`): they
        // compare as strings.
        let stream_usage = api_version.as_str() >= STREAM_OPTIONS_SINCE;
        let uri = |operation: &str| -> Result<Uri, BuildError> {
            format!(
                "{api_base}/openai/deployments/{}/{operation}?api-version={api_version}",
                deployment.upstream_model
            )
            .parse()
            .map_err(|_| BuildError::InvalidApiBase {
                id: deployment.id.clone(),
                api_base: api_base.clone(),
            })
        };
        let chat_uri = uri("chat/completions")?;
        let embeddings_uri = uri("embeddings")?;
        let api_key = super::api_key(deployment, Some("AZURE_API_KEY"));
        let api_key_header = api_key
            .as_deref()
            .map(|key| super::secret_header(key, &deployment.id))
            .transpose()?;
        Ok(Self {
            api_base,
            chat_uri,
            embeddings_uri,
            api_key_header,
            api_key,
            stream_usage,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Who is called, for [`exchange`]: OpenAI's error envelope, Azure's
    /// content-filter code renamed.
    fn target(&self) -> Target<'_> {
        Target {
            provider: PROVIDER,
            api_base: &self.api_base,
            secret: self.api_key.as_deref(),
            decode: |target, answer| normalise(exchange::openai_error(target, answer)),
        }
    }

    fn request(&self, body: Vec<u8>) -> Result<http::Request<Full<Bytes>>, http::Error> {
        self.request_to(&self.chat_uri, body)
    }

    fn request_to(
        &self,
        uri: &Uri,
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, http::Error> {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &self.api_key_header {
            builder = builder.header("api-key", key.clone());
        }
        builder.body(Full::new(Bytes::from(body)))
    }

    /// The request body is OpenAI's, unchanged (Azure ignores `model`: the
    /// deployment in the path decides); answers are OpenAI's too.
    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        // Accounting needs usage even when the client did not ask for it:
        // ask Azure for it (API versions that take `stream_options`), and
        // keep the usage chunk from a client that did not ask.
        let ask_usage = call.stream && self.stream_usage;
        let mut body = call.body;
        if ask_usage {
            request_stream_usage(&mut body);
        }
        let body = serde_json::to_vec(&body).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let request = self
            .request(body)
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        if call.stream {
            let response =
                exchange::send_streaming(call.client, request, &self.target(), call.stream_timeout)
                    .await?;
            // Without `stream_options` Azure sends no usage chunk, so there is
            // nothing to hide: the client gets the stream as it is.
            let keep_usage_chunk = call.include_usage || !ask_usage;
            return Ok(ChatOutput::Stream(openai_events_keeping_usage_chunk(
                response.into_body(),
                keep_usage_chunk,
                Some(call.model_group.to_string()),
            )));
        }
        let body = exchange::send_json(call.client, request, &self.target(), call.timeout).await?;
        let body = super::model_field::replace_model(&body, call.model_group)
            .map_or(body, bytes::Bytes::from);
        Ok(ChatOutput::Complete {
            usage: usage_in_body(&body),
            body,
        })
    }
}

impl AzureUpstream {
    /// OpenAI's embeddings body to the deployment's embeddings path; Azure
    /// answers in OpenAI's shape (`encoding_format` included).
    pub async fn embeddings(
        &self,
        call: EmbeddingCall<'_>,
    ) -> Result<EmbeddingOutput, ProviderError> {
        let body =
            serde_json::to_vec(&call.body).map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let request = self
            .request_to(&self.embeddings_uri, body)
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let body = exchange::send_json(call.client, request, &self.target(), call.timeout).await?;
        let body = super::model_field::replace_model(&body, call.model_group)
            .map_or(body, bytes::Bytes::from);
        Ok(EmbeddingOutput {
            usage: usage_in_body(&body),
            body,
        })
    }
}

/// Azure's content filter answers 400 with `code: content_filter`; OpenAI
/// clients and the router know it as `content_policy_violation`.
fn normalise(mut error: ProviderError) -> ProviderError {
    if error.code.as_deref() == Some("content_filter") {
        error.code = Some("content_policy_violation".into());
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn deployment(api_base: Option<&str>, api_version: Option<&str>) -> Deployment {
        let value = serde_json::json!({
            "id": "d1",
            "model_name": "gpt",
            "provider": "azure",
            "upstream_model": "my-gpt4o",
            "params": {
                "model": "azure/my-gpt4o",
                "api_base": api_base,
                "api_version": api_version,
                "api_key": "azure-secret-key",
            },
            "extra_params": {},
            "model_info": {},
            "model_info_extra": {},
        });
        serde_json::from_value(value).expect("deployment")
    }

    #[test]
    fn url_and_auth_header_follow_azure() {
        let upstream = AzureUpstream::new(&deployment(
            Some("https://res.openai.azure.com/"),
            Some("2024-06-01"),
        ))
        .expect("builds");
        assert_eq!(
            upstream.chat_uri.to_string(),
            "https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-06-01"
        );
        let request = upstream.request(b"{}".to_vec()).expect("request");
        assert_eq!(request.headers()["api-key"], "azure-secret-key");
        assert!(request.headers().get("authorization").is_none());
    }

    #[test]
    fn api_base_is_required() {
        // SAFETY of the test: AZURE_API_BASE is not set in the test environment.
        if std::env::var("AZURE_API_BASE").is_err() {
            assert!(matches!(
                AzureUpstream::new(&deployment(None, None)),
                Err(BuildError::MissingApiBase { .. })
            ));
        }
    }

    #[test]
    fn stream_usage_only_where_the_api_version_takes_it() {
        let old = AzureUpstream::new(&deployment(Some("https://r.test"), Some("2024-06-01")))
            .expect("builds");
        assert!(!old.stream_usage);
        let new = AzureUpstream::new(&deployment(
            Some("https://r.test"),
            Some("2025-01-01-preview"),
        ))
        .expect("builds");
        assert!(new.stream_usage);
    }

    #[test]
    fn content_filter_is_a_content_policy_violation() {
        let error = ProviderError {
            status: StatusCode::BAD_REQUEST,
            message: "azure: The response was filtered".into(),
            kind: "invalid_request_error".into(),
            param: Some("prompt".into()),
            code: Some("content_filter".into()),
            retry_after: None,
        };
        assert_eq!(
            normalise(error).code.as_deref(),
            Some("content_policy_violation")
        );
    }
}
