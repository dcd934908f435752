//! OpenAI's Responses API spoken natively: `POST {api_base}/responses`
//! (Azure: `{api_base}/openai/responses?api-version=…`),
//! `GET` and `DELETE {api_base}/responses/{id}`, relayed as the provider
//! sends them. Deployments without it are bridged over chat by
//! `crate::responses`; this module only decides which are native and relays.
//!
//! A native stream's frames keep OpenAI's `event:` line; the usage of the
//! lifecycle event that ends it (`response.completed`, `.incomplete`,
//! `.failed`) rides on that frame for accounting.

use super::Upstream;
use super::chat::{ChatOutput, StreamEvent};
use super::client::HttpClient;
use super::error::ProviderError;
use super::exchange;
use super::stream::{Usage, error_event};
use bytes::Bytes;
use futures::StreamExt;
use http::{Method, header::CONTENT_TYPE};
use serde_json::{Map, Value};
use std::time::Duration;
use tollgate_shared::provider::ProviderKind;

/// One `POST /responses` to a native deployment.
pub struct ResponsesCall<'a> {
    pub client: &'a HttpClient,
    /// The Responses body, `model` already the provider's model name.
    pub body: Map<String, Value>,
    pub stream: bool,
    pub timeout: Duration,
    pub stream_timeout: Duration,
}

/// The usage of a Responses API `response` object: `input_tokens`,
/// `output_tokens`, `input_tokens_details.cached_tokens`.
pub fn usage_of_response(response: &Value) -> Option<Usage> {
    let usage = response.get("usage")?;
    let count = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    if usage.is_null() {
        return None;
    }
    Some(Usage {
        prompt_tokens: count(usage.get("input_tokens")),
        completion_tokens: count(usage.get("output_tokens")),
        cached_tokens: count(
            usage
                .get("input_tokens_details")
                .and_then(|d| d.get("cached_tokens")),
        ),
    })
}

/// The lifecycle events whose `response` object is the whole response.
pub const LIFECYCLE_EVENTS: [&str; 6] = [
    "response.created",
    "response.in_progress",
    "response.queued",
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// Events that end a stream and carry its usage.
const FINAL_EVENTS: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];

impl Upstream {
    /// Whether this deployment speaks the Responses API itself (LiteLLM
    /// relays OpenAI's natively and bridges the others over chat). OpenAI-
    /// compatible servers are bridged unless `model_info.mode` says
    /// `responses`.
    pub fn speaks_responses(&self, mode: Option<&str>) -> bool {
        match self {
            Upstream::OpenAi(u) => {
                u.provider() == ProviderKind::Openai.as_str() || mode == Some("responses")
            }
            Upstream::Azure(_) => true,
            _ => false,
        }
    }

    pub async fn responses(&self, call: ResponsesCall<'_>) -> Result<ChatOutput, ProviderError> {
        let body =
            serde_json::to_vec(&call.body).map_err(|e| ProviderError::internal("responses", &e))?;
        let (request, target) = match self {
            Upstream::OpenAi(upstream) => (upstream.post("/responses", body)?, upstream.target()),
            Upstream::Azure(upstream) => {
                let uri = upstream.responses_uri("").ok_or_else(azure_uri_error)?;
                let request = upstream
                    .request_to(&uri, body)
                    .map_err(|e| ProviderError::internal("azure", &e))?;
                (request, upstream.target())
            }
            _ => return Err(ProviderError::unsupported("responses")),
        };
        if call.stream {
            let response =
                exchange::send_streaming(call.client, request, &target, call.stream_timeout)
                    .await?;
            return Ok(ChatOutput::Stream(events(response.into_body())));
        }
        let body = exchange::send_json(call.client, request, &target, call.timeout).await?;
        let usage = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| usage_of_response(&v))
            .unwrap_or_default();
        Ok(ChatOutput::Complete { body, usage })
    }

    /// `GET` or `DELETE {api_base}/responses/{id}{suffix}` (`suffix`: ours,
    /// such as `/input_items`): the provider's JSON.
    pub async fn response_by_id(
        &self,
        client: &HttpClient,
        method: Method,
        upstream_id: &str,
        suffix: &'static str,
        timeout: Duration,
    ) -> Result<Bytes, ProviderError> {
        // Ids are the provider's own (`resp_…`); anything else is refused
        // rather than spliced into a path.
        if upstream_id.is_empty()
            || !upstream_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ProviderError::invalid_request(
                "the stored response id is not valid".into(),
                None,
            ));
        }
        let tail = format!("/{upstream_id}{suffix}");
        let (mut request, target) = match self {
            Upstream::OpenAi(upstream) => (
                upstream.post(&format!("/responses{tail}"), Vec::new())?,
                upstream.target(),
            ),
            Upstream::Azure(upstream) => {
                let uri = upstream.responses_uri(&tail).ok_or_else(azure_uri_error)?;
                let request = upstream
                    .request_to(&uri, Vec::new())
                    .map_err(|e| ProviderError::internal("azure", &e))?;
                (request, upstream.target())
            }
            _ => return Err(ProviderError::unsupported("responses")),
        };
        *request.method_mut() = method;
        request.headers_mut().remove(CONTENT_TYPE);
        exchange::send_json(client, request, &target, timeout).await
    }
}

fn azure_uri_error() -> ProviderError {
    ProviderError::invalid_request("azure: cannot address the Responses API".into(), None)
}

/// A Responses API SSE body as events: each frame re-framed with its
/// `event:` name, the final event's usage attached.
fn events(body: hyper::body::Incoming) -> super::ChunkStream {
    let bytes = http_body_util::BodyDataStream::new(body);
    Box::pin(async_stream::stream! {
        let mut events = std::pin::pin!(super::sse::parse(bytes));
        while let Some(event) = events.next().await {
            match event {
                Ok(event) if event.data == "[DONE]" => return,
                Ok(event) => {
                    // The name is the `event:` line, else the data's `type`.
                    let name = if event.event.is_empty() || event.event == "message" {
                        serde_json::from_str::<Value>(&event.data)
                            .ok()
                            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
                            .unwrap_or_default()
                    } else {
                        event.event.clone()
                    };
                    let usage = if FINAL_EVENTS.contains(&name.as_str()) {
                        serde_json::from_str::<Value>(&event.data)
                            .ok()
                            .and_then(|v| v.get("response").and_then(usage_of_response))
                    } else {
                        None
                    };
                    yield StreamEvent::Data { frame: frame(&name, &event.data), usage };
                }
                Err(e) => {
                    yield StreamEvent::Error {
                        frame: error_event(&format!("the provider's stream broke: {e}"), "api_connection_error"),
                        error_type: "api_connection_error",
                    };
                    return;
                }
            }
        }
    })
}

/// `event: <name>\ndata: <data>\n\n`.
pub fn frame(name: &str, data: &str) -> Bytes {
    let mut out = Vec::with_capacity(name.len() + data.len() + 16);
    if !name.is_empty() {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_is_read_in_the_responses_fields() {
        let r = json!({"usage": {"input_tokens": 7, "output_tokens": 3, "input_tokens_details": {"cached_tokens": 2}}});
        assert_eq!(
            usage_of_response(&r),
            Some(Usage {
                prompt_tokens: 7,
                completion_tokens: 3,
                cached_tokens: 2
            })
        );
        assert_eq!(usage_of_response(&json!({"usage": null})), None);
        assert_eq!(usage_of_response(&json!({})), None);
    }

    #[test]
    fn frames_keep_the_event_name() {
        assert_eq!(
            &frame("response.created", "{}")[..],
            b"event: response.created\ndata: {}\n\n"
        );
        assert_eq!(&frame("", "{}")[..], b"data: {}\n\n");
    }
}
