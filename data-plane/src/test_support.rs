//! Helpers the unit tests share.

use serde_json::{Map, Value};

/// A JSON object literal as the `Map` request bodies are parsed into.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("a test body must be a JSON object, not {other}"),
    }
}
