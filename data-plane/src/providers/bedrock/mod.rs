//! AWS Bedrock through the Converse API: `bedrock/<model id>`.
//!
//! Requests are translated to Converse (`request.rs`), signed with SigV4
//! (`sigv4.rs`), and answered as JSON (`response.rs`) or as a binary
//! event stream (`eventstream.rs`, `stream.rs`). Embeddings use the model's
//! own `invoke` format (`embeddings.rs`).

mod embeddings;
pub(super) mod error;
pub mod eventstream;
mod pass_through;
mod request;
mod response;
pub mod sigv4;
mod stream;

use super::BuildError;
use super::chat::{ChatCall, ChatOutput};
use super::client::RequestBody;
use super::error::ProviderError;
use super::exchange::{self, Target};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode, Uri};
use http_body_util::Full;
use serde_json::Value;
use sigv4::Credentials;
use tollgate_shared::snapshot::Deployment;

const PROVIDER: &str = "bedrock";
const SERVICE: &str = "bedrock";
/// LiteLLM's region when neither the deployment nor the environment names one.
const DEFAULT_REGION: &str = "us-west-2";

#[derive(Debug)]
pub struct BedrockUpstream {
    /// `https://bedrock-runtime.{region}.amazonaws.com`, or the override.
    endpoint: String,
    region: String,
    /// Read once when the deployment is built; `None` fails each request
    /// with a clear 401 instead of failing the whole snapshot.
    credentials: Option<Credentials>,
    /// The model id, percent-encoded as one path segment.
    model_path: String,
    model_id: String,
}

impl BedrockUpstream {
    pub fn new(deployment: &Deployment) -> Result<Self, BuildError> {
        let params = &deployment.params;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let region = params
            .aws_region_name
            .clone()
            .or_else(|| env("AWS_REGION_NAME"))
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let access_key = params
            .aws_access_key_id
            .as_ref()
            .map(|k| k.expose().to_string())
            .or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret_key = params
            .aws_secret_access_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let session_token = params
            .aws_session_token
            .as_ref()
            .map(|k| k.expose().to_string())
            .or_else(|| env("AWS_SESSION_TOKEN"));
        let credentials = match (access_key, secret_key) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token,
            }),
            _ => None,
        };
        let endpoint = params
            .api_base
            .clone()
            .or_else(|| {
                deployment
                    .extra_params
                    .get("aws_bedrock_runtime_endpoint")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com"))
            .trim_end_matches('/')
            .to_string();
        let model_id = deployment.upstream_model.clone();
        let model_path = sigv4::uri_encode(&model_id, true);
        let check: Result<Uri, _> = format!("{endpoint}/model/{model_path}/converse").parse();
        if check.is_err() {
            return Err(BuildError::InvalidApiBase {
                id: deployment.id.clone(),
                api_base: endpoint,
            });
        }
        Ok(Self {
            endpoint,
            region,
            credentials,
            model_path,
            model_id,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.endpoint
    }

    /// A signed POST of `body` to `/model/{id}/{action}`.
    fn signed_request(
        &self,
        action: &str,
        body: Vec<u8>,
        accept: &'static str,
    ) -> Result<http::Request<RequestBody>, ProviderError> {
        let Some(credentials) = &self.credentials else {
            return Err(ProviderError {
                status: StatusCode::UNAUTHORIZED,
                message: "bedrock: no AWS credentials: set aws_access_key_id and aws_secret_access_key on the deployment, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the data plane".into(),
                kind: "authentication_error".into(),
                param: None,
                code: Some("401".into()),
                retry_after: None,
            });
        };
        let uri: Uri = format!("{}/model/{}/{action}", self.endpoint, self.model_path)
            .parse()
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let amz_date = sigv4::amz_date(chrono::Utc::now());
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), host),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(token) = &credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let signature = sigv4::sign(
            credentials,
            &self.region,
            SERVICE,
            &amz_date,
            &sigv4::Signable {
                method: "POST",
                path: uri.path(),
                query: "",
                headers,
                payload: &body,
            },
        );
        let mut authorization = HeaderValue::try_from(signature.authorization)
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        authorization.set_sensitive(true);
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(http::header::ACCEPT, HeaderValue::from_static(accept))
            .header("x-amz-date", amz_date)
            .header(http::header::AUTHORIZATION, authorization);
        if let Some(token) = &credentials.session_token {
            let mut value = HeaderValue::try_from(token.as_str())
                .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
            value.set_sensitive(true);
            builder = builder.header("x-amz-security-token", value);
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::internal(PROVIDER, &e))
    }

    fn secret(&self) -> Option<&str> {
        self.credentials
            .as_ref()
            .map(|c| c.secret_access_key.as_str())
    }

    /// Who is called, for [`exchange`]: errors in Bedrock's classes.
    fn target(&self) -> Target<'_> {
        Target {
            provider: PROVIDER,
            api_base: &self.endpoint,
            secret: self.secret(),
            decode: |target, answer| {
                let error_type = answer
                    .headers
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok());
                error::from_parts(
                    answer.status,
                    error_type,
                    answer.retry_after(),
                    &answer.body,
                    target.secret,
                )
            },
        }
    }

    pub async fn chat(&self, call: ChatCall<'_>) -> Result<ChatOutput, ProviderError> {
        let converse = request::translate(&call.body, call.drop_params)?;
        let body = serde_json::to_vec(&converse.body)
            .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
        let id = format!("chatcmpl-{}", call.request_id);
        let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        if call.stream {
            let request = self.signed_request(
                "converse-stream",
                body,
                "application/vnd.amazon.eventstream",
            )?;
            let response =
                exchange::send_streaming(call.client, request, &self.target(), call.stream_timeout)
                    .await?;
            let translator = stream::Translator::new(
                id,
                created,
                call.model_group.to_string(),
                call.include_usage,
                converse.json_mode,
            );
            return Ok(ChatOutput::Stream(stream::events(
                response.into_body(),
                translator,
            )));
        }
        let request = self.signed_request("converse", body, "application/json")?;
        let body = exchange::send_json(call.client, request, &self.target(), call.timeout).await?;
        let value: Value = serde_json::from_slice(&body).map_err(|_| bad_response())?;
        let (openai, usage) =
            response::to_openai(&value, &id, created, call.model_group, converse.json_mode)
                .ok_or_else(bad_response)?;
        Ok(ChatOutput::Complete {
            body: Bytes::from(openai.to_string()),
            usage,
        })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }
}

fn bad_response() -> ProviderError {
    ProviderError::bad_gateway("bedrock: the response is not a Converse response".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(params: Value, extra: Value) -> Deployment {
        let mut p =
            serde_json::json!({"model": "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"});
        if let (Some(p), Value::Object(more)) = (p.as_object_mut(), params) {
            p.extend(more);
        }
        let value = serde_json::json!({
            "id": "d1",
            "model_name": "claude",
            "provider": "bedrock",
            "upstream_model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "params": p,
            "extra_params": extra,
            "model_info": {},
            "model_info_extra": {},
        });
        serde_json::from_value(value).expect("deployment")
    }

    #[test]
    fn requests_are_signed_for_the_region_with_the_encoded_model_path() {
        let upstream = BedrockUpstream::new(&deployment(
            serde_json::json!({
                "aws_access_key_id": "AKIDEXAMPLE",
                "aws_secret_access_key": "secret-key-123",
                "aws_session_token": "session-token",
                "aws_region_name": "eu-west-3",
            }),
            serde_json::json!({}),
        ))
        .expect("builds");
        assert_eq!(
            upstream.api_base(),
            "https://bedrock-runtime.eu-west-3.amazonaws.com"
        );
        let request = upstream
            .signed_request("converse", b"{}".to_vec(), "application/json")
            .expect("signed");
        assert_eq!(
            request.uri().to_string(),
            "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        );
        let auth = request.headers()["authorization"].to_str().expect("ascii");
        let date = request.headers()["x-amz-date"].to_str().expect("ascii");
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=",
                &date[..8]
            )),
            "{auth}"
        );
        assert_eq!(request.headers()["x-amz-security-token"], "session-token");
        assert!(request.headers()["authorization"].is_sensitive());
    }

    #[test]
    fn the_runtime_endpoint_can_be_overridden() {
        let upstream = BedrockUpstream::new(&deployment(
            serde_json::json!({"aws_region_name": "us-east-1"}),
            serde_json::json!({"aws_bedrock_runtime_endpoint": "https://vpce.example.com/"}),
        ))
        .expect("builds");
        assert_eq!(upstream.api_base(), "https://vpce.example.com");
    }
}
