//! The effective config as the dashboard shows it: every top-level section
//! as last loaded (`os.environ/` resolved), with anything that may be a
//! secret replaced by [`REDACTED`] — values at secret-sounding names
//! (`api_key`, `master_key`, `database_url`, `aws_secret_access_key`,
//! `vertex_credentials`, …), every value of `environment_variables` and of
//! header maps, strings that look like API keys, and the credentials and
//! query strings of URLs. Numbers and booleans are kept (`max_tokens` is no
//! secret). Only this redacted copy is kept for the dashboard.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const REDACTED: &str = "<redacted>";

/// Parts of a setting's name that mark its value as a secret.
const SECRET_WORDS: [&str; 12] = [
    "key",
    "secret",
    "password",
    "passwd",
    "token",
    "credential",
    "auth",
    "cookie",
    "private",
    "signature",
    "dsn",
    "database_url",
];
/// Maps whose every value is a secret (or may hold one).
const SECRET_MAPS: [&str; 3] = ["environment_variables", "headers", "extra_headers"];

fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| n.contains(w))
}

/// `https://user:secret@host/path?key=…` → `https://host/path`.
pub fn public_base(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
            format!("{scheme}://{host_and_path}")
        }
        None => without_query.to_string(),
    }
}

fn looks_like_key(s: &str) -> bool {
    ["sk-", "sk_", "AKIA", "ghp_", "xox"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn hidden(v: &Value) -> Value {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => v.clone(),
        Value::String(s) if s.is_empty() => v.clone(),
        _ => Value::String(REDACTED.into()),
    }
}

fn redact(v: &Value) -> Value {
    match v {
        Value::String(s) if looks_like_key(s) => Value::String(REDACTED.into()),
        Value::String(s) if s.contains("://") => Value::String(public_base(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if secret_name(k) {
                        hidden(v)
                    } else if SECRET_MAPS.contains(&k.as_str()) {
                        match v {
                            Value::Object(m) => Value::Object(
                                m.iter().map(|(k, v)| (k.clone(), hidden(v))).collect(),
                            ),
                            other => hidden(other),
                        }
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// The sections of a loaded config, redacted, as one JSON object.
pub fn effective(sections: &BTreeMap<String, Value>) -> Value {
    let mut out = Map::new();
    for (name, value) in sections {
        let v = if SECRET_MAPS.contains(&name.as_str()) || secret_name(name) {
            match value {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), hidden(v))).collect())
                }
                other => hidden(other),
            }
        } else {
            redact(value)
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced_and_the_rest_is_kept() {
        let sections: BTreeMap<String, Value> = [
            (
                "model_list".to_string(),
                json!([{"model_name": "gpt", "litellm_params": {
                    "model": "openai/gpt-4o", "api_key": "abc123", "max_tokens": 100,
                    "api_base": "https://user:pw@api.example.com/v1?key=q",
                    "vertex_credentials": {"private_key": "x"},
                    "extra_headers": {"X-Team": "t1"},
                    "aws_secret_access_key": "s", "rpm": 5, "region": "sk-looking"}}]),
            ),
            (
                "general_settings".to_string(),
                json!({"master_key": "sk-master", "database_url": "postgres://u:p@db/x",
                       "require_auth_for_metrics_endpoint": true, "alerting": ["slack"]}),
            ),
            (
                "environment_variables".to_string(),
                json!({"OPENAI_API_KEY": "sk-1", "REGION": "eu"}),
            ),
        ]
        .into_iter()
        .collect();
        let out = effective(&sections);
        let p = &out["model_list"][0]["litellm_params"];
        assert_eq!(p["model"], "openai/gpt-4o");
        assert_eq!(p["api_key"], REDACTED);
        assert_eq!(p["max_tokens"], 100);
        assert_eq!(p["rpm"], 5);
        assert_eq!(p["api_base"], "https://api.example.com/v1");
        assert_eq!(p["vertex_credentials"], REDACTED);
        assert_eq!(p["extra_headers"]["X-Team"], REDACTED);
        assert_eq!(p["aws_secret_access_key"], REDACTED);
        assert_eq!(p["region"], REDACTED);
        let g = &out["general_settings"];
        assert_eq!(g["master_key"], REDACTED);
        assert_eq!(g["database_url"], REDACTED);
        assert_eq!(g["require_auth_for_metrics_endpoint"], true);
        assert_eq!(g["alerting"], json!(["slack"]));
        assert_eq!(
            out["environment_variables"],
            json!({"OPENAI_API_KEY": REDACTED, "REGION": REDACTED})
        );
        let text = out.to_string();
        for secret in ["abc123", "sk-master", "u:p@", "pw@", "sk-1", "key=q"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
