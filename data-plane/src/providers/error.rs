//! Errors from providers, normalised to OpenAI's classes so clients and the
//! router can act on them whatever the provider.

use http::{HeaderValue, StatusCode};
use serde::Deserialize;

/// A provider failure as the client will see it.
#[derive(Debug, Clone)]
pub struct ProviderError {
    pub status: StatusCode,
    pub message: String,
    pub kind: String,
    pub param: Option<String>,
    /// A machine code such as `context_length_exceeded`; else the status.
    pub code: Option<String>,
    /// Passed on so clients back off as the provider asked. Boxed: it is
    /// rare, and keeping the error small keeps every `Result` small.
    pub retry_after: Option<Box<HeaderValue>>,
}

/// How much of an error body is read: enough for any real error message,
/// bounded so a misbehaving upstream cannot balloon memory.
const MAX_ERROR_BODY: usize = 64 * 1024;

impl ProviderError {
    pub fn timeout(provider: &str, after: std::time::Duration) -> Self {
        Self {
            status: StatusCode::REQUEST_TIMEOUT,
            message: format!(
                "{provider}: request timed out after {:.1}s; raise `timeout` (or `stream_timeout`) in the request, on the deployment or in router_settings if the model needs longer",
                after.as_secs_f64()
            ),
            kind: "timeout".into(),
            param: None,
            code: Some("408".into()),
            retry_after: None,
        }
    }

    /// A provider whose translation is not built yet.
    pub fn unsupported(provider: &str) -> Self {
        Self {
            status: StatusCode::NOT_IMPLEMENTED,
            message: format!("provider `{provider}` is not supported by this Tollgate version yet"),
            kind: "not_implemented_error".into(),
            param: None,
            code: Some("501".into()),
            retry_after: None,
        }
    }

    /// A request that could not be built: a bug, not the caller's fault.
    pub fn internal(provider: &str, error: &dyn std::error::Error) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("{provider}: cannot build the provider request: {error}"),
            kind: "internal_server_error".into(),
            param: None,
            code: Some("500".into()),
            retry_after: None,
        }
    }

    pub fn connection(provider: &str, api_base: &str, error: &dyn std::error::Error) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            // The error chain names no URL: some providers carry credentials
            // in the query string, so only the base is shown.
            message: format!(
                "{provider}: could not reach {api_base}: {}",
                tollgate_shared::error::display_chain(error)
            ),
            kind: "api_connection_error".into(),
            param: None,
            code: Some("502".into()),
            retry_after: None,
        }
    }

    /// A 400 for a request the provider cannot take, naming `param` if any.
    pub fn invalid_request(message: String, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message,
            kind: "invalid_request_error".into(),
            param: param.map(str::to_string),
            code: Some("400".into()),
            retry_after: None,
        }
    }

    /// A 502 for an answer that is not what the provider promised.
    pub fn bad_gateway(message: String) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            message,
            kind: "api_error".into(),
            param: None,
            code: Some("502".into()),
            retry_after: None,
        }
    }

    /// Reads a non-2xx answer in OpenAI's envelope (or a common variant)
    /// into an error, scrubbing `secret` (the deployment's key) in case the
    /// provider echoed it.
    pub fn from_answer(provider: &str, answer: &ErrorAnswer, secret: Option<&str>) -> Self {
        let status = answer.status;
        let body = &answer.body;
        let parsed = parse_body(body);
        let message = match parsed.message {
            Some(m) => m,
            None if body.is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
            None => String::from_utf8_lossy(body).into_owned(),
        };
        let message = scrub(&format!("{provider}: {message}"), secret);
        let kind = match status.as_u16() {
            429 => "rate_limit_error".to_string(),
            // An empty `type` (some servers send `""`) says nothing: the
            // client gets the status's class instead.
            _ => parsed
                .kind
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| default_kind(status).to_string()),
        };
        Self {
            status,
            message,
            kind,
            param: parsed.param,
            code: Some(parsed.code.unwrap_or_else(|| status.as_u16().to_string())),
            retry_after: answer.retry_after(),
        }
    }
}

/// A non-2xx answer as read: its status, headers and at most
/// `MAX_ERROR_BODY` bytes of body (the rest is dropped with the connection).
pub struct ErrorAnswer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl ErrorAnswer {
    pub async fn read(response: http::Response<hyper::body::Incoming>) -> Self {
        use http_body_util::BodyExt as _;
        let (parts, mut body) = response.into_parts();
        let mut out = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let room = MAX_ERROR_BODY.saturating_sub(out.len());
                out.extend_from_slice(&data[..data.len().min(room)]);
                if out.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
        }
        Self {
            status: parts.status,
            headers: parts.headers,
            body: out,
        }
    }

    /// How long the provider asked to wait, passed on so clients back off
    /// and the router cools down as asked. OpenAI and Azure send the finer
    /// `retry-after-ms` beside `retry-after`; it wins, in seconds with the
    /// milliseconds kept (`1.5`), which `Retry-After` parsers accept.
    pub fn retry_after(&self) -> Option<Box<HeaderValue>> {
        let millis = self
            .headers
            .get("retry-after-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0);
        if let Some(ms) = millis {
            let seconds = format!("{}", ms.round() / 1000.0);
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                return Some(Box::new(value));
            }
        }
        self.headers
            .get(http::header::RETRY_AFTER)
            .cloned()
            .map(Box::new)
    }
}

#[derive(Default)]
struct Parsed {
    message: Option<String>,
    kind: Option<String>,
    param: Option<String>,
    code: Option<String>,
}

/// Accepts OpenAI's envelope and the common variants OpenAI-compatible
/// servers send (`{"error":"…"}`, `{"detail":"…"}`, `{"message":"…"}`).
fn parse_body(body: &[u8]) -> Parsed {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Text(String),
        Number(i64),
    }
    #[derive(Deserialize)]
    struct Inner {
        message: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
        param: Option<String>,
        code: Option<Code>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ErrorField {
        Object(Inner),
        Text(String),
    }
    #[derive(Deserialize)]
    struct Envelope {
        error: Option<ErrorField>,
        detail: Option<serde_json::Value>,
        message: Option<String>,
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return Parsed::default();
    };
    match envelope.error {
        Some(ErrorField::Object(inner)) => Parsed {
            message: inner.message,
            kind: inner.kind,
            param: inner.param,
            code: inner.code.map(|c| match c {
                Code::Text(s) => s,
                Code::Number(n) => n.to_string(),
            }),
        },
        Some(ErrorField::Text(message)) => Parsed {
            message: Some(message),
            ..Parsed::default()
        },
        None => Parsed {
            message: envelope.message.or_else(|| {
                envelope
                    .detail
                    .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string))
            }),
            ..Parsed::default()
        },
    }
}

fn default_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 => "timeout",
        422 => "unprocessable_entity_error",
        429 => "rate_limit_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

fn scrub(message: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 8 => message.replace(s, "***"),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openai_and_compatible_error_bodies() {
        let p = parse_body(br#"{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#);
        assert_eq!(p.message.as_deref(), Some("too long"));
        assert_eq!(p.code.as_deref(), Some("context_length_exceeded"));
        assert_eq!(p.param.as_deref(), Some("messages"));
        let p = parse_body(br#"{"error":"model not loaded"}"#);
        assert_eq!(p.message.as_deref(), Some("model not loaded"));
        let p = parse_body(br#"{"detail":"Not Found"}"#);
        assert_eq!(p.message.as_deref(), Some("Not Found"));
        let p = parse_body(br#"{"error":{"message":"x","code":429}}"#);
        assert_eq!(p.code.as_deref(), Some("429"));
        assert!(parse_body(b"<html>").message.is_none());
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let answer = |headers: &[(&'static str, &'static str)]| ErrorAnswer {
            status: http::StatusCode::TOO_MANY_REQUESTS,
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        http::HeaderName::from_static(k),
                        HeaderValue::from_static(v),
                    )
                })
                .collect(),
            body: Vec::new(),
        };
        let wait = |a: ErrorAnswer| {
            a.retry_after()
                .map(|v| v.to_str().unwrap_or("?").to_string())
        };
        assert_eq!(
            wait(answer(&[("retry-after", "2"), ("retry-after-ms", "1500")])),
            Some("1.5".to_string())
        );
        assert_eq!(
            wait(answer(&[("retry-after", "2"), ("retry-after-ms", "soon")])),
            Some("2".to_string())
        );
        assert_eq!(wait(answer(&[])), None);
    }

    #[test]
    fn echoed_keys_are_scrubbed() {
        assert_eq!(
            scrub(
                "Incorrect API key provided: sk-secret-123456",
                Some("sk-secret-123456")
            ),
            "Incorrect API key provided: ***"
        );
    }
}
