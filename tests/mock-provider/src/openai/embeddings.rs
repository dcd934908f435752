//! `POST /v1/embeddings`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{ApiError, InputItem, OpenAiRequest, TextOrTokens, admit};
use crate::app::{SharedState, json_response};
use crate::{base64, reply};

const DEFAULT_DIMENSIONS: u32 = 8;
/// Bounds the work one request can ask for; real models top out at 3072.
const MAX_DIMENSIONS: u32 = 16_384;

#[derive(Debug, Deserialize)]
pub(super) struct EmbeddingRequest {
    #[serde(default)]
    model: String,
    #[serde(default)]
    input: Option<TextOrTokens>,
    #[serde(default)]
    dimensions: Option<u32>,
    #[serde(default)]
    encoding_format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Float,
    Base64,
}

impl EmbeddingRequest {
    fn encoding(&self) -> Result<Encoding, ApiError> {
        match self.encoding_format.as_deref() {
            None | Some("float") => Ok(Encoding::Float),
            Some("base64") => Ok(Encoding::Base64),
            Some(other) => Err(ApiError::invalid_param(
                "encoding_format",
                format!("'{other}' is not one of ['float', 'base64'] - 'encoding_format'"),
            )),
        }
    }

    fn dimensions(&self) -> u32 {
        self.dimensions.unwrap_or(DEFAULT_DIMENSIONS)
    }
}

impl OpenAiRequest for EmbeddingRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn validate(&self) -> Result<(), ApiError> {
        let Some(input) = &self.input else {
            return Err(ApiError::missing_param("input"));
        };
        if input.is_empty() {
            return Err(ApiError::invalid_param(
                "input",
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            ));
        }
        if !(1..=MAX_DIMENSIONS).contains(&self.dimensions()) {
            return Err(ApiError::invalid_param(
                "dimensions",
                format!("dimensions must be between 1 and {MAX_DIMENSIONS}"),
            ));
        }
        self.encoding().map(drop)
    }
}

#[derive(Serialize)]
struct EmbeddingList<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: EmbeddingUsage,
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct EmbeddingUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// The bytes an item's vector is derived from; token ids are hashed as
/// little-endian integers so the result does not depend on the platform.
fn vector_key(item: InputItem<'_>) -> Vec<u8> {
    match item {
        InputItem::Text(text) => text.as_bytes().to_vec(),
        InputItem::Tokens(tokens) => tokens.iter().flat_map(|t| t.to_le_bytes()).collect(),
    }
}

pub(super) async fn handle(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: EmbeddingRequest = admit(&state, &headers, &body).await?;
    let encoding = request.encoding()?;
    let dimensions = request.dimensions() as usize;
    let items = request
        .input
        .as_ref()
        .map(TextOrTokens::items)
        .unwrap_or_default();

    let prompt_tokens = items.iter().map(|item| item.tokens()).sum();
    let data = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let vector = reply::embedding_vector(&vector_key(*item), dimensions);
            let embedding = match encoding {
                Encoding::Float => Vector::Float(vector),
                Encoding::Base64 => Vector::Base64(base64::encode_f32_le(&vector)),
            };
            Embedding {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();

    let list = EmbeddingList {
        object: "list",
        data,
        model: &request.model,
        usage: EmbeddingUsage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    Ok(json_response(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(body: Value) -> EmbeddingRequest {
        serde_json::from_value(body).expect("valid embedding request")
    }

    #[test]
    fn validation_rejects_bad_parameters() {
        let ok = parse(json!({"model": "m", "input": "hi"}));
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.dimensions(), 8);
        assert_eq!(ok.encoding(), Ok(Encoding::Float));

        for bad in [
            json!({"model": "m"}),
            json!({"model": "m", "input": []}),
            json!({"model": "m", "input": "x", "dimensions": 0}),
            json!({"model": "m", "input": "x", "encoding_format": "hex"}),
        ] {
            assert!(parse(bad.clone()).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn token_and_text_inputs_have_distinct_keys() {
        assert_eq!(vector_key(InputItem::Text("ab")), b"ab".to_vec());
        assert_eq!(vector_key(InputItem::Tokens(&[1])).len(), 8);
    }
}
