//! The Responses call the router routes: to a deployment that speaks the
//! Responses API, the request as the client sent it; to any other, the
//! same request bridged over chat. The router's retries, cooldowns and
//! fallbacks apply either way; the output says which happened.

use crate::providers::responses::ResponsesCall;
use crate::providers::{ChatOutput, HttpClient, ProviderError};
use crate::router::{self, Metered, Operation};
use crate::runtime::Deployment;
use crate::usage::tokenizer::Encoding as TokenEncoding;
use serde_json::{Map, Value};

pub enum Output {
    /// The provider's own Responses body or events.
    Native(ChatOutput),
    /// A chat answer, still to be turned into a response.
    Bridged(ChatOutput),
}

impl Metered for Output {
    fn meter(self, meter: router::Meter) -> Self {
        match self {
            Output::Native(o) => Output::Native(o.meter(meter)),
            Output::Bridged(o) => Output::Bridged(o.meter(meter)),
        }
    }
}

pub struct Responses<'a> {
    pub client: &'a HttpClient,
    pub wildcard: Option<&'a str>,
    /// The Responses body for native deployments (history already resolved).
    pub native: Map<String, Value>,
    /// The chat call for the others, or why the request cannot be bridged.
    pub chat: Result<router::Chat<'a>, ProviderError>,
    pub stream: bool,
}

pub fn is_native(deployment: &Deployment) -> bool {
    deployment
        .upstream
        .speaks_responses(deployment.mode.as_deref())
}

impl Operation for Responses<'_> {
    type Output = Output;

    async fn call(
        &self,
        deployment: &Deployment,
        timeouts: router::Timeouts,
    ) -> Result<Output, ProviderError> {
        if !is_native(deployment) {
            let chat = self.chat.as_ref().map_err(Clone::clone)?;
            return chat.call(deployment, timeouts).await.map(Output::Bridged);
        }
        let client = self
            .client
            .with_extra_headers(deployment.extra_headers.as_ref());
        let call = ResponsesCall {
            client: &client,
            body: router::body_for(&self.native, deployment, self.wildcard),
            stream: self.stream,
            timeout: timeouts.total,
            stream_timeout: timeouts.first_chunk,
        };
        let output = deployment.upstream.responses(call).await?;
        router::first_chunk(deployment, timeouts, output)
            .await
            .map(Output::Native)
    }

    fn prompt_tokens(&self, encoding: TokenEncoding) -> u64 {
        self.chat
            .as_ref()
            .map_or(0, |chat| chat.prompt_tokens(encoding))
    }
}
