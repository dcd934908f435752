//! OpenAI's error envelope, `{"error":{"message","type","param","code"}}`, with the
//! messages and codes the real API uses, since gateways branch on `code`.

use std::borrow::Cow;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::json_response;
use crate::faults::{Fault, FaultKind};

const INVALID_REQUEST: &str = "invalid_request_error";
const SERVER_ERROR: &str = "server_error";

const MISSING_KEY_MESSAGE: &str = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.";
const UNPARSABLE_JSON_MESSAGE: &str = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";
const RATE_LIMIT_MESSAGE: &str = "Rate limit reached for requests";
const SERVER_ERROR_MESSAGE: &str =
    "The server had an error while processing your request. Sorry about that!";
const CONTEXT_LENGTH_MESSAGE: &str = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.";
const CONTENT_POLICY_MESSAGE: &str = "Your request was rejected as a result of our safety system.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
    retry_after: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>, kind: &'static str) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn missing_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            MISSING_KEY_MESSAGE,
            INVALID_REQUEST,
        )
        .with_code("invalid_api_key")
    }

    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, INVALID_REQUEST)
    }

    /// Syntax errors get OpenAI's fixed wording; type errors name the problem, which
    /// is what a developer debugging a gateway's request translation needs.
    pub fn unparsable_body(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Data => Self::invalid_request(format!("Invalid request body: {err}")),
            Category::Io | Category::Syntax | Category::Eof => {
                Self::invalid_request(UNPARSABLE_JSON_MESSAGE)
            }
        }
    }

    pub fn missing_model() -> Self {
        Self::invalid_request("you must provide a model parameter")
    }

    pub fn missing_param(param: &'static str) -> Self {
        Self::invalid_request(format!("Missing required parameter: '{param}'."))
            .with_param(param)
            .with_code("missing_required_parameter")
    }

    pub fn invalid_param(param: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::invalid_request(message).with_param(param)
    }

    pub fn not_found_message(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message, INVALID_REQUEST)
    }

    pub fn invalid_url(method: &Method, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("Invalid URL ({method} {path})"),
            INVALID_REQUEST,
        )
    }

    pub fn from_fault(fault: &Fault, model: &str) -> Self {
        let status = fault.status;
        let mut error = match fault.kind {
            FaultKind::RateLimit => {
                Self::new(status, RATE_LIMIT_MESSAGE, "requests").with_code("rate_limit_exceeded")
            }
            FaultKind::ServerError => Self::new(status, SERVER_ERROR_MESSAGE, SERVER_ERROR),
            FaultKind::ContextLength => Self::new(status, CONTEXT_LENGTH_MESSAGE, INVALID_REQUEST)
                .with_param("messages")
                .with_code("context_length_exceeded"),
            FaultKind::ContentPolicy => Self::new(status, CONTENT_POLICY_MESSAGE, INVALID_REQUEST)
                .with_code("content_policy_violation"),
            FaultKind::Status => Self::generic(status, model),
        };
        error.retry_after.clone_from(&fault.retry_after);
        error
    }

    fn generic(status: StatusCode, model: &str) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::new(
                status,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                INVALID_REQUEST,
            )
            .with_code("invalid_api_key"),
            StatusCode::NOT_FOUND => Self::new(
                status,
                format!("The model `{model}` does not exist or you do not have access to it."),
                INVALID_REQUEST,
            )
            .with_code("model_not_found"),
            _ => {
                let kind = if status.is_server_error() {
                    SERVER_ERROR
                } else {
                    INVALID_REQUEST
                };
                Self::new(
                    status,
                    format!("Mock provider injected status {}.", status.as_u16()),
                    kind,
                )
            }
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            error: Detail {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
            },
        };
        let mut response = json_response(self.status, &envelope);
        if let Some(value) = self
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    async fn body_json(error: ApiError) -> (StatusCode, Option<String>, Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("in-memory body");
        let value = serde_json::from_slice(&bytes).expect("error body is JSON");
        (status, retry_after, value)
    }

    #[tokio::test]
    async fn missing_key_has_openai_shape() {
        let (status, _, body) = body_json(ApiError::missing_api_key()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert_eq!(body["error"]["param"], Value::Null);
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("You didn't provide an API key."));
    }

    #[tokio::test]
    async fn rate_limit_fault_sets_retry_after() {
        let fault = Fault {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: FaultKind::RateLimit,
            retry_after: Some("1".to_owned()),
        };
        let (status, retry_after, body) = body_json(ApiError::from_fault(&fault, "m")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(
            body,
            json!({"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}})
        );
    }

    #[tokio::test]
    async fn generic_statuses_pick_type_and_code() {
        let fault = |status| Fault {
            status,
            kind: FaultKind::Status,
            retry_after: None,
        };
        let (_, _, body) =
            body_json(ApiError::from_fault(&fault(StatusCode::NOT_FOUND), "gpt-x")).await;
        assert_eq!(body["error"]["code"], "model_not_found");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("gpt-x"))
        );

        let (_, _, body) =
            body_json(ApiError::from_fault(&fault(StatusCode::UNAUTHORIZED), "m")).await;
        assert_eq!(body["error"]["code"], "invalid_api_key");

        let (_, _, body) =
            body_json(ApiError::from_fault(&fault(StatusCode::BAD_GATEWAY), "m")).await;
        assert_eq!(body["error"]["type"], "server_error");
        assert_eq!(body["error"]["code"], Value::Null);

        let (_, _, body) =
            body_json(ApiError::from_fault(&fault(StatusCode::FORBIDDEN), "m")).await;
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}
