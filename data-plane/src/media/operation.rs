//! One relayed call, ready for any deployment of a group: the JSON body
//! (or the multipart form) with the deployment's model name, sent to the
//! endpoint's path through the router's retries, cooldowns and fallbacks.

use super::multipart::Form;
use crate::providers::relay::RelayCall;
use crate::providers::stream::Usage;
use crate::providers::{ChatOutput, HttpClient, ProviderError};
use crate::router::{self, Meter, Metered, Operation};
use crate::runtime::Deployment;
use crate::usage::tokenizer::Encoding as TokenEncoding;
use http::HeaderValue;
use serde_json::{Map, Value};

pub enum Payload {
    Json(Map<String, Value>),
    Multipart(Form),
}

pub struct Relay<'a> {
    pub client: &'a HttpClient,
    pub wildcard: Option<&'a str>,
    pub path: &'static str,
    pub payload: Payload,
}

/// A relayed answer: the body (metered like any complete answer) and its
/// content type.
pub struct Answer {
    pub output: ChatOutput,
    pub content_type: Option<HeaderValue>,
}

impl Metered for Answer {
    fn meter(self, meter: Meter) -> Self {
        Answer {
            output: self.output.meter(meter),
            content_type: self.content_type,
        }
    }
}

impl Operation for Relay<'_> {
    type Output = Answer;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: router::Timeouts,
    ) -> Result<Answer, ProviderError> {
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        let (body, content_type) = match &self.payload {
            Payload::Json(body) => {
                let body = router::body_for(body, deployment, self.wildcard);
                let bytes = serde_json::to_vec(&body)
                    .map_err(|e| ProviderError::internal(deployment.provider, &e))?;
                (bytes, HeaderValue::from_static("application/json"))
            }
            Payload::Multipart(form) => {
                let named = router::body_for(&Map::new(), deployment, self.wildcard);
                let model = named
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let content_type = HeaderValue::try_from(form.content_type())
                    .map_err(|e| ProviderError::internal(deployment.provider, &e))?;
                (form.encode_with("model", model), content_type)
            }
        };
        let call = RelayCall {
            client: &client,
            path: self.path,
            body,
            content_type,
            timeout: timeouts.total,
        };
        let relayed = deployment.upstream.relay(&deployment.config, call).await?;
        Ok(Answer {
            output: ChatOutput::Complete {
                body: relayed.body,
                usage: Usage::default(),
            },
            content_type: relayed.content_type,
        })
    }

    fn prompt_tokens(&self, _: TokenEncoding) -> u64 {
        0
    }
}
