//! JSON Schema → the OpenAPI subset Gemini accepts (its `Schema` object).
//!
//! Gemini rejects keys it does not know (`additionalProperties`, `$schema`,
//! `strict`, `$ref`…). As LiteLLM's `_build_vertex_schema`: `$ref`s into
//! `$defs`/`definitions` are inlined, `anyOf` with a `null` branch and type
//! arrays with `"null"` become `nullable: true`, `const` becomes a one-value
//! `enum`, and any other unknown key is removed.

use serde_json::{Map, Value, json};

/// Keys of Gemini's `Schema` object kept as they are (besides the ones
/// holding sub-schemas, handled separately).
const KEPT: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "propertyOrdering",
    "default",
    "minimum",
    "maximum",
];

/// Inlining stops here so a recursive schema cannot loop forever.
const MAX_DEPTH: usize = 32;

pub fn clean_schema(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    clean(schema, &defs, 0)
}

fn clean(schema: &Value, defs: &Value, depth: usize) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    if depth > MAX_DEPTH {
        return json!({"type": "object"});
    }
    if let Some(target) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| defs.get(name))
    {
        return clean(target, defs, depth + 1);
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "type" => match value {
                // ["string", "null"] → "string" + nullable.
                Value::Array(types) => {
                    let concrete: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    if concrete.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    if let Some(first) = concrete.first() {
                        out.insert("type".into(), (*first).clone());
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "properties" => {
                if let Value::Object(props) = value {
                    let props = props
                        .iter()
                        .map(|(name, s)| (name.clone(), clean(s, defs, depth + 1)))
                        .collect();
                    out.insert("properties".into(), Value::Object(props));
                }
            }
            "items" => {
                out.insert("items".into(), clean(value, defs, depth + 1));
            }
            "anyOf" | "oneOf" => {
                let Value::Array(branches) = value else {
                    continue;
                };
                let non_null: Vec<&Value> = branches
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                if non_null.len() < branches.len() {
                    out.insert("nullable".into(), Value::Bool(true));
                }
                if let [single] = non_null.as_slice() {
                    if let Value::Object(inner) = clean(single, defs, depth + 1) {
                        for (k, v) in inner {
                            out.entry(k).or_insert(v);
                        }
                    }
                } else {
                    let cleaned = non_null.iter().map(|b| clean(b, defs, depth + 1)).collect();
                    out.insert("anyOf".into(), Value::Array(cleaned));
                }
            }
            k if KEPT.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_schema_cleaning() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "step": {"$ref": "#/$defs/Step"},
                "mode": {"const": "fast"},
                "note": {"anyOf": [{"type": "string", "maxLength": 9}, {"type": "null"}], "description": "n"}
            },
            "required": ["step"],
            "$defs": {"Step": {"type": "object", "title": "Step",
                "properties": {"n": {"type": "integer"}}, "additionalProperties": false}}
        });
        assert_eq!(
            clean_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "step": {"type": "object", "title": "Step", "properties": {"n": {"type": "integer"}}},
                    "mode": {"enum": ["fast"]},
                    "note": {"nullable": true, "type": "string", "maxLength": 9, "description": "n"}
                },
                "required": ["step"]
            })
        );
    }

    #[test]
    fn recursive_refs_terminate() {
        let schema = json!({"$ref": "#/$defs/N", "$defs": {"N": {"type": "object",
            "properties": {"next": {"$ref": "#/$defs/N"}}}}});
        assert!(clean_schema(&schema).is_object());
    }
}
