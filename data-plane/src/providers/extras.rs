//! A deployment's `extra_headers` and `extra_body` (LiteLLM's names for the
//! OpenAI SDK's arguments): provider parameters that are not request keys.
//! `extra_headers` go out as HTTP headers on every call to the deployment;
//! `extra_body`'s keys join the request body like any default parameter.

use super::BuildError;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `litellm_params.extra_headers` as headers; `None` when unset or empty.
/// The config loader has checked it is a map of strings; anything a header
/// cannot carry fails the snapshot, naming the deployment.
pub fn extra_headers(
    id: &str,
    params: &BTreeMap<String, Value>,
) -> Result<Option<Arc<HeaderMap>>, BuildError> {
    let Some(Value::Object(map)) = params.get("extra_headers") else {
        return Ok(None);
    };
    let invalid = || BuildError::InvalidHeader {
        id: id.to_string(),
        field: "extra_headers",
    };
    let mut headers = HeaderMap::with_capacity(map.len());
    for (name, value) in map {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| invalid())?;
        let value = match value {
            Value::String(s) => HeaderValue::try_from(s.as_str()),
            other => HeaderValue::try_from(other.to_string()),
        }
        .map_err(|_| invalid())?;
        headers.insert(name, value);
    }
    Ok((!headers.is_empty()).then(|| Arc::new(headers)))
}

/// The deployment's default request parameters: its provider parameters
/// (`settings` already removed), with `extra_body`'s keys lifted to the top
/// level where the same key is not set directly.
pub fn default_params(params: impl Iterator<Item = (String, Value)>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut extra_body = None;
    for (key, value) in params {
        match key.as_str() {
            "extra_headers" => {}
            "extra_body" => extra_body = Some(value),
            _ => {
                out.insert(key, value);
            }
        }
    }
    if let Some(Value::Object(extra)) = extra_body {
        for (key, value) in extra {
            out.entry(key).or_insert(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_headers_become_headers_and_bad_ones_name_the_deployment() {
        let params = BTreeMap::from([(
            "extra_headers".to_string(),
            json!({"X-Team": "blue", "x-count": 3}),
        )]);
        let headers = extra_headers("d1", &params).expect("valid").expect("some");
        assert_eq!(headers["x-team"], "blue");
        assert_eq!(headers["x-count"], "3");
        assert!(
            extra_headers("d1", &BTreeMap::new())
                .expect("valid")
                .is_none()
        );
        let bad = BTreeMap::from([("extra_headers".to_string(), json!({"bad name": "x"}))]);
        let err = extra_headers("d1", &bad).expect_err("not a header name");
        assert!(err.to_string().contains("d1") && err.to_string().contains("extra_headers"));
    }

    #[test]
    fn extra_body_joins_the_defaults_and_direct_keys_win() {
        let params = [
            ("temperature".to_string(), json!(0.2)),
            ("extra_headers".to_string(), json!({"x": "y"})),
            (
                "extra_body".to_string(),
                json!({"top_k": 5, "temperature": 0.9}),
            ),
        ];
        let defaults = default_params(params.into_iter());
        assert_eq!(
            Value::Object(defaults),
            json!({"temperature": 0.2, "top_k": 5})
        );
    }
}
