//! `POST /v1beta/models/{model}:batchEmbedContents`:
//! `{"requests":[{"model","content":{"parts":[{"text"}]},"outputDimensionality"?}]}`
//! → `{"embeddings":[{"values":[...]}]}` (Gemini reports no token counts).

use super::error::GoogleError;
use crate::app::{SharedState, json_response};
use crate::faults;
use crate::reply;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// As the OpenAI mock: 8 dimensions unless asked.
const DEFAULT_DIMENSIONS: u64 = 8;

pub fn batch_embed(
    state: &SharedState,
    model: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GoogleError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| GoogleError::invalid("Invalid JSON payload received."))?;
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            GoogleError::invalid("* BatchEmbedContentsRequest.requests: requests must not be empty")
        })?;
    if let Some(fault) = faults::decide(headers, model, &state.faults).fault {
        return Err(GoogleError::from_fault(&fault, model));
    }
    let mut embeddings = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let expected = format!("models/{model}");
        if r.get("model").and_then(Value::as_str) != Some(expected.as_str()) {
            return Err(GoogleError::invalid(format!(
                "* BatchEmbedContentsRequest.requests[{i}].model: must be {expected}"
            )));
        }
        let text: String = r
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect()
            })
            .ok_or_else(|| {
                GoogleError::invalid(format!(
                    "* BatchEmbedContentsRequest.requests[{i}].content: required"
                ))
            })?;
        let dimensions = r
            .get("outputDimensionality")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_DIMENSIONS);
        let dimensions = usize::try_from(dimensions).unwrap_or(8);
        embeddings.push(json!({"values": reply::embedding_vector(text.as_bytes(), dimensions)}));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "embeddings": embeddings }),
    ))
}
