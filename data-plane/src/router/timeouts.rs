//! The time limits of one attempt.
//!
//! A deployment's `timeout` (the whole answer) and `stream_timeout` (a
//! stream's first chunk) govern, unless the request set its own: LiteLLM
//! reads `timeout` (alias `request_timeout`) and `stream_timeout` from the
//! body as a per-call override, ahead of the deployment's, and so does
//! Tollgate. They are settings, never forwarded to a provider.

use crate::runtime::Deployment;
use serde_json::{Map, Value};
use std::time::Duration;

/// What the request asked for, read once per request.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RequestedTimeouts {
    pub timeout: Option<Duration>,
    pub stream_timeout: Option<Duration>,
}

impl RequestedTimeouts {
    /// The body's overrides. Values that are not a positive number of
    /// seconds are refused before routing (`http::validate`), so here they
    /// are simply not overrides.
    pub fn from_body(body: &Map<String, Value>) -> Self {
        let seconds = |key: &str| body.get(key).and_then(positive_seconds);
        Self {
            timeout: seconds("timeout").or_else(|| seconds("request_timeout")),
            stream_timeout: seconds("stream_timeout"),
        }
    }
}

/// A positive, finite number of seconds (LiteLLM takes a float).
pub fn positive_seconds(value: &Value) -> Option<Duration> {
    let seconds = value.as_f64()?;
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}

/// The limits one attempt on one deployment runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The whole answer of a non-streamed call.
    pub total: Duration,
    /// A stream's first chunk.
    pub first_chunk: Duration,
}

impl Timeouts {
    pub fn for_attempt(deployment: &Deployment, requested: RequestedTimeouts) -> Self {
        Self {
            total: requested.timeout.unwrap_or(deployment.timeout),
            // A request's `timeout` bounds its stream too, unless it set a
            // `stream_timeout` of its own (LiteLLM's precedence).
            first_chunk: requested
                .stream_timeout
                .or(requested.timeout)
                .unwrap_or(deployment.stream_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reads_seconds_and_the_alias() {
        let got = RequestedTimeouts::from_body(&body(json!({"timeout": 0.5})));
        assert_eq!(got.timeout, Some(Duration::from_millis(500)));
        let got = RequestedTimeouts::from_body(&body(json!({"request_timeout": 2})));
        assert_eq!(got.timeout, Some(Duration::from_secs(2)));
        let got = RequestedTimeouts::from_body(&body(json!({"stream_timeout": 1.5})));
        assert_eq!(got.stream_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(got.timeout, None);
    }

    #[test]
    fn what_is_not_a_positive_number_is_no_override() {
        for value in [
            json!(0),
            json!(-1),
            json!("5"),
            json!(null),
            json!(1e308 * 10.0),
        ] {
            let got = RequestedTimeouts::from_body(&body(json!({ "timeout": value })));
            assert_eq!(got, RequestedTimeouts::default(), "{value}");
        }
    }
}
