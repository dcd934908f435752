//! `google.protobuf.Struct` ↔ JSON: metadata is free-form JSON in LiteLLM's
//! API and a typed `Struct` on the wire.

use crate::v1::Key;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value as PValue};
use serde_json::{Map, Number, Value, json};

pub fn to_json(s: &Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

fn value_to_json(v: &PValue) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            // Integers travel as f64 in a Struct; give them back as integers.
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => to_json(s),
    }
}

/// `None` when `v` is not a JSON object.
pub fn from_json(v: &Value) -> Option<Struct> {
    match v {
        Value::Object(map) => Some(Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), value_from_json(v)))
                .collect(),
        }),
        _ => None,
    }
}

fn value_from_json(v: &Value) -> PValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(value_from_json).collect(),
        }),
        Value::Object(_) => match from_json(v) {
            Some(s) => Kind::StructValue(s),
            None => Kind::NullValue(0),
        },
    };
    PValue { kind: Some(kind) }
}

/// A key as LiteLLM's `LiteLLM_VerificationToken` row shows it.
pub fn key_json(key: &Key) -> Map<String, Value> {
    let object = |s: &Option<prost_types::Struct>| s.as_ref().map_or_else(|| json!({}), to_json);
    let json = json!({
        "token": key.token,
        "key_name": key.key_name,
        "key_alias": key.key_alias,
        "spend": key.spend,
        "max_budget": key.max_budget,
        "soft_budget": key.soft_budget,
        "budget_duration": key.budget_duration,
        "budget_reset_at": key.budget_reset_at,
        "expires": key.expires,
        "models": key.models,
        "aliases": object(&key.aliases),
        "user_id": key.user_id,
        "team_id": key.team_id,
        "metadata": object(&key.metadata),
        "blocked": key.blocked,
        "tpm_limit": key.tpm_limit,
        "rpm_limit": key.rpm_limit,
        "max_parallel_requests": key.max_parallel_requests,
        "model_rpm_limit": key.model_rpm_limit,
        "model_tpm_limit": key.model_tpm_limit,
        "tags": key.tags,
        "created_at": key.created_at,
        "updated_at": key.updated_at,
        "status": key.status,
    });
    match json {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_json_objects() {
        let v = json!({"team": "a", "n": 3, "f": 1.5, "ok": true, "none": null, "list": [1, "x"], "nested": {"k": "v"}});
        let s = from_json(&v).expect("object");
        assert_eq!(to_json(&s), v);
        assert!(from_json(&json!([1])).is_none());
    }
}
