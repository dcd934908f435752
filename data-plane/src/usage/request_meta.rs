//! What a request says about itself for the spend log: its end user, tags
//! and metadata, read where LiteLLM reads them.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

/// LiteLLM's header naming the end user when the body has no `user`.
const END_USER_HEADER: &str = "x-litellm-end-user-id";
/// LiteLLM's header carrying tags (comma-separated).
const TAGS_HEADER: &str = "x-litellm-tags";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    pub end_user: Option<String>,
    pub tags: Vec<String>,
    /// The request's `metadata` object as JSON; empty when absent.
    pub metadata_json: String,
}

impl RequestMeta {
    /// Reads the body's `user`, `metadata` (and `metadata.tags`), top-level
    /// `tags`, and the LiteLLM headers. Malformed values are ignored: the
    /// spend log must never turn a valid call into an error.
    pub fn read(body: &Map<String, Value>, headers: &HeaderMap) -> RequestMeta {
        let end_user = body
            .get("user")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| {
                headers
                    .get(END_USER_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            });
        let metadata = body.get("metadata").filter(|m| m.is_object());
        let mut tags = Vec::new();
        for source in [metadata.and_then(|m| m.get("tags")), body.get("tags")] {
            if let Some(Value::Array(items)) = source {
                tags.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        if let Some(header) = headers.get(TAGS_HEADER).and_then(|v| v.to_str().ok()) {
            tags.extend(
                header
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            );
        }
        RequestMeta {
            end_user,
            tags,
            metadata_json: metadata.map(Value::to_string).unwrap_or_default(),
        }
    }
}

/// Request tags, then the key's, each once, in first-seen order.
pub fn merge_tags(request: &[String], key: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(request.len() + key.len());
    for tag in request.iter().chain(key) {
        if !out.contains(tag) {
            out.push(tag.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    use crate::test_support::object as body;

    #[test]
    fn reads_user_tags_and_metadata() {
        let mut headers = HeaderMap::new();
        headers.insert(TAGS_HEADER, HeaderValue::from_static("h1, ,h2"));
        let meta = RequestMeta::read(
            &body(
                json!({"user": "u1", "metadata": {"tags": ["a", 3, "b"], "team": "x"}, "tags": ["c"]}),
            ),
            &headers,
        );
        assert_eq!(meta.end_user.as_deref(), Some("u1"));
        assert_eq!(meta.tags, ["a", "b", "c", "h1", "h2"]);
        let parsed: Value = serde_json::from_str(&meta.metadata_json).expect("json");
        assert_eq!(parsed, json!({"tags": ["a", 3, "b"], "team": "x"}));
    }

    #[test]
    fn end_user_header_when_body_has_none_and_bad_shapes_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(END_USER_HEADER, HeaderValue::from_static("cust-9"));
        let meta = RequestMeta::read(&body(json!({"metadata": "oops", "tags": "x"})), &headers);
        assert_eq!(meta.end_user.as_deref(), Some("cust-9"));
        assert!(meta.tags.is_empty());
        assert_eq!(meta.metadata_json, "");
    }

    #[test]
    fn tags_merge_without_duplicates() {
        let r = vec!["a".to_string(), "b".to_string()];
        let k = vec!["b".to_string(), "k".to_string()];
        assert_eq!(merge_tags(&r, &k), ["a", "b", "k"]);
    }
}
