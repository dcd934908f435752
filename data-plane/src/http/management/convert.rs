//! LiteLLM's JSON ↔ the typed AdminService messages.

use crate::http::error::ApiError;
use serde_json::{Map, Value};
use tollgate_proto::json as pjson;
pub use tollgate_proto::json::key_json;
use tollgate_proto::v1::{KeySpec, LimitMap, StringList};

/// Each item as a JSON object, for LiteLLM's lists.
pub fn rows<T>(items: &[T], to_json: impl Fn(&T) -> Map<String, Value>) -> Vec<Value> {
    items.iter().map(|x| Value::Object(to_json(x))).collect()
}

/// The item as a JSON object; `{}` when the answer has none.
pub fn row<T>(item: Option<&T>, to_json: impl Fn(&T) -> Map<String, Value>) -> Value {
    Value::Object(item.map(to_json).unwrap_or_default())
}

pub fn type_error(field: &str, expected: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::bad_request(
        format!("`{field}` must be {expected}, got {kind}."),
        Some(field),
    )
}

/// A field's value, with JSON `null` meaning "not given" (LiteLLM: None =
/// leave unchanged).
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

pub fn string(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(type_error(name, "a string", other)),
    }
}

pub fn number(body: &Map<String, Value>, name: &str) -> Result<Option<f64>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(type_error(name, "a number", other)),
    }
}

pub fn integer(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("`{name}` must be a whole number."), Some(name))
        }),
        Some(other) => Err(type_error(name, "a whole number", other)),
    }
}

pub fn boolean(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(type_error(name, "true or false", other)),
    }
}

pub fn strings(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(type_error(name, "an array of strings", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(type_error(name, "an array of strings", other)),
    }
}

/// A list field as the AdminService's `StringList` (`models`, `tags`).
pub fn list(body: &Map<String, Value>, name: &str) -> Result<Option<StringList>, ApiError> {
    Ok(strings(body, name)?.map(|values| StringList { values }))
}

pub fn object<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a Value>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => Err(type_error(name, "an object", other)),
    }
}

pub fn limits(body: &Map<String, Value>, name: &str) -> Result<Option<LimitMap>, ApiError> {
    let Some(Value::Object(map)) = object(body, name)? else {
        return Ok(None);
    };
    let limits = map
        .iter()
        .map(|(model, v)| match v.as_i64() {
            Some(n) => Ok((model.clone(), n)),
            None => Err(type_error(name, "an object of whole numbers", v)),
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(LimitMap { limits }))
}

/// The key fields of a LiteLLM request body. Fields Tollgate does not know
/// are ignored, as LiteLLM ignores most of its own optional fields.
pub fn key_spec(body: &Map<String, Value>) -> Result<KeySpec, ApiError> {
    Ok(KeySpec {
        key_alias: string(body, "key_alias")?,
        models: list(body, "models")?,
        max_budget: number(body, "max_budget")?,
        soft_budget: number(body, "soft_budget")?,
        budget_duration: string(body, "budget_duration")?,
        duration: string(body, "duration")?,
        team_id: string(body, "team_id")?,
        user_id: string(body, "user_id")?,
        rpm_limit: integer(body, "rpm_limit")?,
        tpm_limit: integer(body, "tpm_limit")?,
        max_parallel_requests: integer(body, "max_parallel_requests")?,
        model_rpm_limit: limits(body, "model_rpm_limit")?,
        model_tpm_limit: limits(body, "model_tpm_limit")?,
        metadata: object(body, "metadata")?.and_then(pjson::from_json),
        blocked: boolean(body, "blocked")?,
        aliases: object(body, "aliases")?.and_then(pjson::from_json),
        tags: list(body, "tags")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::test_support::object as body;

    #[test]
    fn litellm_fields_become_a_typed_spec() {
        let spec = key_spec(&body(json!({
            "key_alias": "ci", "models": ["gpt-4o"], "max_budget": 10, "duration": "30d",
            "rpm_limit": 5, "model_rpm_limit": {"gpt-4o": 2}, "metadata": {"team": "x"},
            "blocked": false, "tags": ["a"], "unknown_litellm_field": 1, "team_id": null,
        })))
        .expect("valid");
        assert_eq!(spec.key_alias.as_deref(), Some("ci"));
        assert_eq!(
            spec.models.map(|m| m.values),
            Some(vec!["gpt-4o".to_string()])
        );
        assert_eq!(spec.max_budget, Some(10.0));
        assert_eq!(spec.rpm_limit, Some(5));
        assert_eq!(
            spec.model_rpm_limit
                .map(|m| m.limits.get("gpt-4o").copied()),
            Some(Some(2))
        );
        assert!(spec.team_id.is_none(), "null means not given");
    }

    #[test]
    fn wrong_types_are_400s_naming_the_field() {
        for (field, value) in [
            ("max_budget", json!("ten")),
            ("models", json!("gpt-4o")),
            ("models", json!([1])),
            ("rpm_limit", json!(1.5)),
            ("blocked", json!("yes")),
            ("metadata", json!([])),
            ("model_tpm_limit", json!({"m": "x"})),
        ] {
            let e = key_spec(&body(json!({ field: value }))).expect_err("rejected");
            assert_eq!(e.status.as_u16(), 400);
            assert_eq!(e.body.error.param.as_deref(), Some(field), "{field}");
        }
    }
}
