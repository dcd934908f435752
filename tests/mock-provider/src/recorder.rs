//! The request log: what the gateway actually sent upstream, for tests to assert on.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::{ADMIN_PREFIX, MAX_BODY_BYTES, SharedState, json_response, unix_millis};

#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
    pub raw_body: Option<String>,
    pub received_at_ms: u64,
}

#[derive(Debug, Default)]
struct Log {
    // Keeps counting across clears so a test can tell requests of different phases apart.
    last_seq: u64,
    entries: Vec<RecordedRequest>,
}

#[derive(Debug, Default)]
pub struct Recorder {
    // Never held across an await; contention is irrelevant at mock scale.
    log: Mutex<Log>,
}

impl Recorder {
    pub fn record(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        let (body, raw_body) = parse_body(body);
        let mut entry = RecordedRequest {
            seq: 0,
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: headers_to_json(headers),
            body,
            raw_body,
            received_at_ms: unix_millis(),
        };
        let mut log = self.lock();
        log.last_seq += 1;
        entry.seq = log.last_seq;
        log.entries.push(entry);
    }

    /// Recorded requests, optionally only those for one path.
    pub fn snapshot(&self, path: Option<&str>) -> Vec<RecordedRequest> {
        self.lock()
            .entries
            .iter()
            .filter(|entry| path.is_none_or(|path| entry.path == path))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panic elsewhere cannot leave the log half-updated, so keep serving.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// JSON bodies are kept parsed so tests can assert on fields; anything else is kept
/// as text, so that a gateway sending garbage is visible rather than lost.
fn parse_body(body: &[u8]) -> (Option<Value>, Option<String>) {
    if body.is_empty() {
        return (None, None);
    }
    match serde_json::from_slice(body) {
        Ok(value) => (Some(value), None),
        Err(_) => (None, Some(String::from_utf8_lossy(body).into_owned())),
    }
}

/// Header names arrive lowercased from the HTTP layer; repeated headers are joined
/// with ", " as HTTP allows, so the log stays a flat string map.
fn headers_to_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_owned(), Value::String(value.into_owned()));
            }
        }
    }
    map
}

/// Middleware that logs every request outside `/__mock/` before any handler, and so
/// before failure injection, sees it: a test checking retries must see failed attempts.
pub async fn record_requests(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(recorder) = state.recorder.as_ref() else {
        return next.run(request).await;
    };
    if request.uri().path().starts_with(ADMIN_PREFIX) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(%err, "could not read request body");
            return (StatusCode::PAYLOAD_TOO_LARGE, err.to_string()).into_response();
        }
    };
    recorder.record(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &bytes,
    );
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[derive(Debug, Deserialize)]
pub struct RequestFilter {
    path: Option<String>,
}

#[derive(Serialize)]
struct RequestList {
    requests: Vec<RecordedRequest>,
}

/// `GET /__mock/requests[?path=/v1/chat/completions]`.
pub async fn list_requests(
    State(state): State<SharedState>,
    Query(filter): Query<RequestFilter>,
) -> Response {
    let requests = state
        .recorder
        .as_ref()
        .map(|recorder| recorder.snapshot(filter.path.as_deref()))
        .unwrap_or_default();
    json_response(StatusCode::OK, &RequestList { requests })
}

/// `DELETE /__mock/requests`.
pub async fn clear_requests(State(state): State<SharedState>) -> StatusCode {
    if let Some(recorder) = state.recorder.as_ref() {
        recorder.clear();
    }
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn records_json_and_raw_bodies_with_increasing_seq() {
        let recorder = Recorder::default();
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", HeaderValue::from_static("Bearer k"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));

        recorder.record(
            "POST",
            "/v1/chat/completions",
            None,
            &headers,
            br#"{"a":1}"#,
        );
        recorder.record("POST", "/v1/embeddings", Some("x=1"), &headers, b"not json");
        recorder.record("GET", "/v1/models", None, &HeaderMap::new(), b"");

        let all = recorder.snapshot(None);
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(all[0].body, Some(serde_json::json!({"a": 1})));
        assert_eq!(all[0].raw_body, None);
        assert_eq!(all[0].headers["authorization"], "Bearer k");
        assert_eq!(all[0].headers["x-multi"], "a, b");
        assert_eq!(all[1].body, None);
        assert_eq!(all[1].raw_body.as_deref(), Some("not json"));
        assert_eq!(all[1].query.as_deref(), Some("x=1"));
        assert_eq!(
            (all[2].body.as_ref(), all[2].raw_body.as_ref()),
            (None, None)
        );

        let filtered = recorder.snapshot(Some("/v1/embeddings"));
        assert_eq!(filtered.len(), 1);
        assert_eq!(filtered[0].seq, 2);

        recorder.clear();
        assert!(recorder.snapshot(None).is_empty());
        recorder.record("GET", "/v1/models", None, &HeaderMap::new(), b"");
        assert_eq!(recorder.snapshot(None)[0].seq, 4);
    }
}
