//! `general_settings.pass_through_endpoints`: routes an operator adds
//! (`path` → `target`, with `headers` sent along, `include_subpath` for
//! everything under the path, `cost_per_request` charged per call, `auth`
//! requiring a virtual key, `forward_headers` relaying the client's
//! headers), read once per snapshot.

use http::{HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::BTreeMap;
use tollgate_shared::pricing::{Picodollars, from_usd};

#[derive(Debug, Clone)]
pub struct CustomEndpoint {
    /// Where the gateway serves it (`/v1/rerank`, `/bria`).
    pub path: String,
    pub target: String,
    /// Sent to the target (credentials among them: marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub include_subpath: bool,
    pub cost_per_request: Option<Picodollars>,
    /// A virtual key is required (LiteLLM's `auth: true`).
    pub auth: bool,
    pub forward_headers: bool,
}

/// The endpoints of a snapshot, longest path first.
#[derive(Debug, Clone, Default)]
pub struct CustomEndpoints(Vec<CustomEndpoint>);

impl CustomEndpoints {
    /// From the snapshot's raw `general_settings`; an entry without a
    /// `path` and `target` is skipped with a warning.
    pub fn from_settings(raw: &BTreeMap<String, Value>) -> Self {
        let Some(Value::Array(entries)) = raw
            .get("general_settings")
            .and_then(|g| g.get("pass_through_endpoints"))
        else {
            return Self::default();
        };
        let mut out: Vec<CustomEndpoint> = entries.iter().filter_map(parse).collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.path.len()));
        Self(out)
    }

    /// The endpoint serving `path`, and the part of `path` under it.
    pub fn find<'a>(&self, path: &'a str) -> Option<(&CustomEndpoint, &'a str)> {
        self.0.iter().find_map(|e| {
            if path == e.path {
                return Some((e, ""));
            }
            let rest = path.strip_prefix(e.path.as_str())?;
            (e.include_subpath && rest.starts_with('/')).then_some((e, rest))
        })
    }
}

fn parse(entry: &Value) -> Option<CustomEndpoint> {
    let path = entry.get("path").and_then(Value::as_str)?;
    let target = entry.get("target").and_then(Value::as_str)?;
    if !path.starts_with('/') || target.parse::<http::Uri>().is_err() {
        tracing::warn!(
            path,
            "pass_through_endpoints entry skipped: `path` must start with / and `target` be a URL"
        );
        return None;
    }
    let mut headers = Vec::new();
    if let Some(Value::Object(map)) = entry.get("headers") {
        for (name, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(text),
            ) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    headers.push((name, value));
                }
                _ => {
                    tracing::warn!(path, header = %name, "pass_through_endpoints header skipped: not a valid HTTP header")
                }
            }
        }
    }
    let flag = |key: &str| entry.get(key).and_then(Value::as_bool).unwrap_or(false);
    Some(CustomEndpoint {
        path: path.trim_end_matches('/').to_string(),
        target: target.trim_end_matches('/').to_string(),
        headers,
        include_subpath: flag("include_subpath"),
        cost_per_request: entry
            .get("cost_per_request")
            .and_then(Value::as_f64)
            .and_then(from_usd),
        auth: flag("auth"),
        forward_headers: flag("forward_headers"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_match_paths_and_subpaths() {
        let raw: BTreeMap<String, Value> = [(
            "general_settings".to_string(),
            json!({"pass_through_endpoints": [
                {"path": "/v1/rerank", "target": "https://api.cohere.com/v1/rerank", "headers": {"Authorization": "bearer k"}, "cost_per_request": 0.5, "auth": true},
                {"path": "/bria", "target": "https://engine.bria", "include_subpath": true},
                {"path": "no-slash", "target": "https://x"},
                {"target": "https://x"}
            ]}),
        )]
        .into();
        let endpoints = CustomEndpoints::from_settings(&raw);
        let (rerank, rest) = endpoints.find("/v1/rerank").expect("exact");
        assert_eq!(
            (rest, rerank.auth, rerank.cost_per_request),
            ("", true, Some(500_000_000_000))
        );
        assert!(rerank.headers[0].1.is_sensitive());
        assert!(
            endpoints.find("/v1/rerank/more").is_none(),
            "no subpaths unless asked"
        );
        let (bria, rest) = endpoints.find("/bria/v1/text-to-image").expect("subpath");
        assert_eq!(
            (bria.target.as_str(), rest),
            ("https://engine.bria", "/v1/text-to-image")
        );
        assert!(endpoints.find("/briax").is_none());
        assert!(endpoints.find("no-slash").is_none());
    }
}
