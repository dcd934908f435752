//! LiteLLM's exception classes, as far as `retry_policy` and
//! `allowed_fails_policy` key their settings by them, and those two
//! settings parsed.

use serde_json::{Map, Value};

/// The exception a failure would be in LiteLLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 400 and 422; context-window errors are bad requests too in LiteLLM.
    BadRequest,
    /// A provider refusing on content grounds (a `BadRequestError` subclass).
    ContentPolicy,
    /// 401.
    Authentication,
    /// 408 and timeouts.
    Timeout,
    /// 429.
    RateLimit,
    /// Any 5xx: Tollgate reads every provider-side failure as one.
    InternalServer,
    /// 403, 404, 409 …: no policy key names them.
    Other,
}

impl ErrorClass {
    pub fn of(status: u16, code: Option<&str>) -> Self {
        if matches!(code, Some("content_policy_violation" | "content_filter")) {
            return ErrorClass::ContentPolicy;
        }
        match status {
            400 | 422 => ErrorClass::BadRequest,
            401 => ErrorClass::Authentication,
            408 => ErrorClass::Timeout,
            429 => ErrorClass::RateLimit,
            500..=599 => ErrorClass::InternalServer,
            _ => ErrorClass::Other,
        }
    }
}

/// A count per exception class, as `retry_policy` (`…ErrorRetries`) and
/// `allowed_fails_policy` (`…ErrorAllowedFails`) write it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerClass {
    bad_request: Option<u32>,
    authentication: Option<u32>,
    timeout: Option<u32>,
    rate_limit: Option<u32>,
    content_policy: Option<u32>,
    internal_server: Option<u32>,
}

impl PerClass {
    /// Reads `{"BadRequestError<suffix>": n, …}`; keys it does not know are
    /// reported, as every unknown setting is.
    pub fn parse(setting: &str, value: Option<&Value>, suffix: &str) -> Self {
        let Some(map) = value.and_then(Value::as_object) else {
            if value.is_some_and(|v| !v.is_null()) {
                tracing::warn!(setting, "must be an object of counts; ignored");
            }
            return Self::default();
        };
        let count = |name: &str| count(map, &format!("{name}{suffix}"));
        let known = [
            "BadRequestError",
            "AuthenticationError",
            "TimeoutError",
            "RateLimitError",
            "ContentPolicyViolationError",
            "InternalServerError",
        ];
        for key in map.keys() {
            if !known.iter().any(|k| format!("{k}{suffix}") == *key) {
                tracing::warn!(setting, key, "not a LiteLLM exception class; ignored");
            }
        }
        Self {
            bad_request: count("BadRequestError"),
            authentication: count("AuthenticationError"),
            timeout: count("TimeoutError"),
            rate_limit: count("RateLimitError"),
            content_policy: count("ContentPolicyViolationError"),
            internal_server: count("InternalServerError"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The count for `class`. A content-policy refusal is a bad request in
    /// LiteLLM, which checks `BadRequestError` first: the same here.
    pub fn get(&self, class: ErrorClass) -> Option<u32> {
        match class {
            ErrorClass::BadRequest => self.bad_request,
            ErrorClass::ContentPolicy => self.bad_request.or(self.content_policy),
            ErrorClass::Authentication => self.authentication,
            ErrorClass::Timeout => self.timeout,
            ErrorClass::RateLimit => self.rate_limit,
            ErrorClass::InternalServer => self.internal_server,
            ErrorClass::Other => None,
        }
    }
}

fn count(map: &Map<String, Value>, key: &str) -> Option<u32> {
    let value = map.get(key)?;
    let n = value.as_u64().and_then(|n| u32::try_from(n).ok());
    if n.is_none() {
        tracing::warn!(key, "must be a non-negative integer; ignored");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_map_to_litellm_exceptions() {
        assert_eq!(ErrorClass::of(400, Some("400")), ErrorClass::BadRequest);
        assert_eq!(
            ErrorClass::of(400, Some("content_policy_violation")),
            ErrorClass::ContentPolicy
        );
        assert_eq!(ErrorClass::of(401, None), ErrorClass::Authentication);
        assert_eq!(ErrorClass::of(408, None), ErrorClass::Timeout);
        assert_eq!(ErrorClass::of(429, None), ErrorClass::RateLimit);
        assert_eq!(ErrorClass::of(503, None), ErrorClass::InternalServer);
        assert_eq!(ErrorClass::of(404, None), ErrorClass::Other);
    }

    #[test]
    fn policies_read_litellm_keys() {
        let value = json!({"RateLimitErrorRetries": 0, "InternalServerErrorRetries": 4, "ContentPolicyViolationErrorRetries": 2, "Bogus": 1});
        let p = PerClass::parse("retry_policy", Some(&value), "Retries");
        assert_eq!(p.get(ErrorClass::RateLimit), Some(0));
        assert_eq!(p.get(ErrorClass::InternalServer), Some(4));
        assert_eq!(p.get(ErrorClass::ContentPolicy), Some(2));
        assert_eq!(p.get(ErrorClass::Timeout), None);
        let value = json!({"BadRequestErrorRetries": 1, "ContentPolicyViolationErrorRetries": 2});
        let p = PerClass::parse("retry_policy", Some(&value), "Retries");
        assert_eq!(
            p.get(ErrorClass::ContentPolicy),
            Some(1),
            "BadRequestError is checked first, as in LiteLLM"
        );
        let value = json!({"TimeoutErrorAllowedFails": 7, "RateLimitErrorAllowedFails": -1});
        let p = PerClass::parse("allowed_fails_policy", Some(&value), "AllowedFails");
        assert_eq!(p.get(ErrorClass::Timeout), Some(7));
        assert_eq!(
            p.get(ErrorClass::RateLimit),
            None,
            "a negative count is ignored"
        );
        assert!(PerClass::parse("retry_policy", None, "Retries").is_empty());
        assert!(PerClass::parse("retry_policy", Some(&json!("x")), "Retries").is_empty());
    }
}
