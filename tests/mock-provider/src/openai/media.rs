//! OpenAI's non-chat model endpoints: `POST /v1/images/generations`,
//! `/v1/audio/speech`, `/v1/audio/transcriptions` (multipart), `/v1/moderations`
//! and a Jina/vLLM-shaped `/v1/rerank`.
//!
//! The mock's rules, so tests can compute what they expect:
//! - images: `n` (default 1) images, `b64_json` of `image <i> of: <prompt>`, or a URL;
//! - speech: the bytes `MOCK-AUDIO:<input>` as `audio/mpeg`;
//! - transcriptions: `Transcript of <bytes> bytes from <filename>`, the audio's
//!   duration being its size / 1000 seconds (`usage.seconds`, or `duration` in
//!   `verbose_json`);
//! - moderations: an input mentioning `kill` is flagged for violence;
//! - rerank: a document's score is the share of the query's words it contains,
//!   `usage.total_tokens` the words of the query and of every document.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, OpenAiRequest, admit, has_bearer_key};
use crate::app::{SharedState, json_response, unix_secs};
use crate::{base64, faults, reply};

#[derive(Debug, Deserialize)]
pub(super) struct ModelOnly {
    #[serde(default)]
    model: String,
}

impl OpenAiRequest for ModelOnly {
    fn model(&self) -> &str {
        &self.model
    }

    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

fn parsed(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(ApiError::unparsable_body)
}

pub(super) async fn images(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ModelOnly = admit(&state, &headers, &body).await?;
    let raw = parsed(&body)?;
    let prompt = raw
        .get("prompt")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("prompt"))?;
    let n = raw.get("n").and_then(Value::as_u64).unwrap_or(1);
    let url = raw.get("response_format").and_then(Value::as_str) == Some("url");
    let data: Vec<Value> = (1..=n)
        .map(|i| {
            if url {
                json!({"url": format!("https://mock.invalid/{}/{i}.png", request.model), "revised_prompt": prompt})
            } else {
                json!({"b64_json": base64::encode(format!("image {i} of: {prompt}").as_bytes()), "revised_prompt": prompt})
            }
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"created": unix_secs(), "data": data}),
    ))
}

pub(super) async fn speech(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _: ModelOnly = admit(&state, &headers, &body).await?;
    let raw = parsed(&body)?;
    let input = raw
        .get("input")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("input"))?;
    let mut response = Response::new(axum::body::Body::from(format!("MOCK-AUDIO:{input}")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    Ok(response)
}

/// The text fields and the file of a multipart form (the mock's own small
/// reader: enough for what a gateway relays).
struct Upload {
    fields: Vec<(String, String)>,
    file: Option<(String, usize)>,
}

fn read_upload(headers: &HeaderMap, body: &[u8]) -> Option<Upload> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut fields = Vec::new();
    let mut file = None;
    let positions: Vec<usize> = text
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n")?.strip_suffix(b"\r\n")?;
        let split = part.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let name = head.split("name=\"").nth(1)?.split('"').next()?.to_string();
        match head
            .split("filename=\"")
            .nth(1)
            .and_then(|f| f.split('"').next())
        {
            Some(filename) => file = Some((filename.to_string(), content.len())),
            None => fields.push((name, String::from_utf8_lossy(content).into_owned())),
        }
    }
    Some(Upload { fields, file })
}

pub(super) async fn transcriptions(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !has_bearer_key(&headers) {
        return Err(ApiError::missing_api_key());
    }
    let upload = read_upload(&headers, &body)
        .ok_or_else(|| ApiError::invalid_request("Could not parse multipart form"))?;
    let field = |name: &str| {
        upload
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let model = field("model")
        .ok_or_else(|| ApiError::missing_param("model"))?
        .to_string();
    let (filename, bytes) = upload
        .file
        .clone()
        .ok_or_else(|| ApiError::missing_param("file"))?;
    let injection = faults::decide(&headers, &model, &state.faults);
    if let Some(fault) = injection.fault {
        return Err(ApiError::from_fault(&fault, &model));
    }
    let text = format!("Transcript of {bytes} bytes from {filename}");
    let seconds = bytes as f64 / 1000.0;
    let body = match field("response_format") {
        Some("verbose_json") => {
            json!({"task": "transcribe", "language": "english", "duration": seconds, "text": text, "segments": []})
        }
        _ => json!({"text": text, "usage": {"type": "duration", "seconds": seconds}}),
    };
    Ok(json_response(StatusCode::OK, &body))
}

pub(super) async fn moderations(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ModelOnly = admit(&state, &headers, &body).await?;
    let raw = parsed(&body)?;
    let inputs: Vec<String> = match raw.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Err(ApiError::missing_param("input")),
    };
    let results: Vec<Value> = inputs
        .iter()
        .map(|text| {
            let violent = text.to_lowercase().contains("kill");
            json!({
                "flagged": violent,
                "categories": {"violence": violent, "harassment": false, "hate": false, "self-harm": false, "sexual": false},
                "category_scores": {"violence": if violent { 0.9 } else { 0.01 }, "harassment": 0.01, "hate": 0.01, "self-harm": 0.01, "sexual": 0.01},
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": format!("modr-mock-{}", state.next_id()), "model": request.model, "results": results}),
    ))
}

/// A document's index, score and text.
type Scored = (usize, f64, String);

/// Scores (best first) and token count of a rerank request.
pub fn rank(raw: &Value) -> Result<(Vec<Scored>, u64), ApiError> {
    let query = raw
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_param("query"))?;
    let documents = raw
        .get("documents")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing_param("documents"))?;
    let query_words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut tokens = reply::word_count(query);
    let mut scored = Vec::new();
    for (index, doc) in documents.iter().enumerate() {
        let text = doc
            .as_str()
            .or_else(|| doc.get("text").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        tokens += reply::word_count(&text);
        let lower = text.to_lowercase();
        let doc_words: Vec<&str> = lower.split_whitespace().collect();
        let hits = query_words
            .iter()
            .filter(|w| doc_words.contains(&w.as_str()))
            .count();
        let score = if query_words.is_empty() {
            0.0
        } else {
            hits as f64 / query_words.len() as f64
        };
        scored.push((index, score, text));
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some(n) = raw.get("top_n").and_then(Value::as_u64) {
        scored.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok((scored, tokens))
}

/// Jina's (and vLLM's) rerank answer.
pub(super) async fn rerank(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ModelOnly = admit(&state, &headers, &body).await?;
    let raw = parsed(&body)?;
    let (scored, tokens) = rank(&raw)?;
    let results: Vec<Value> = scored
        .into_iter()
        .map(|(index, score, text)| json!({"index": index, "relevance_score": score, "document": {"text": text}}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"model": request.model, "usage": {"total_tokens": tokens, "prompt_tokens": tokens}, "results": results}),
    ))
}

/// Cohere's v2 rerank answer (`/v2/rerank`).
pub(super) async fn cohere_rerank(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _: ModelOnly = admit(&state, &headers, &body).await?;
    let raw = parsed(&body)?;
    let (scored, _) = rank(&raw)?;
    let results: Vec<Value> = scored
        .into_iter()
        .map(|(index, score, _)| json!({"index": index, "relevance_score": score}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": format!("rerank-mock-{}", state.next_id()), "results": results,
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}),
    ))
}
