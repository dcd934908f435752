//! The embeddings contract: an OpenAI `/v1/embeddings` request in, an
//! OpenAI `{"object":"list","data":[...]}` body out, whatever the provider.
//! OpenAI-format servers get the request as is; other providers translate
//! in `embeddings/<provider>.rs` and render through [`render_list`].

mod ollama;

use super::Upstream;
use super::client::HttpClient;
use super::error::ProviderError;
use super::exchange::send_json;
use super::stream::{Usage, usage_in_body};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// One input of a request: text, or token ids (OpenAI accepts both).
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingInput {
    Text(String),
    Tokens(Vec<u32>),
}

impl EmbeddingInput {
    /// Text for providers that only take text; token arrays have none.
    pub fn text(&self) -> Option<&str> {
        match self {
            EmbeddingInput::Text(t) => Some(t),
            EmbeddingInput::Tokens(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Float,
    /// Little-endian f32 bytes, standard base64 (what OpenAI sends).
    Base64,
}

/// One embeddings request, validated, ready for a provider.
pub struct EmbeddingCall<'a> {
    pub client: &'a HttpClient,
    /// OpenAI request body, `model` already the provider's model name.
    pub body: Map<String, Value>,
    pub inputs: Vec<EmbeddingInput>,
    pub encoding: Encoding,
    pub dimensions: Option<u32>,
    pub timeout: Duration,
    /// The `model` of bodies the gateway renders itself.
    pub model_group: &'a str,
}

pub struct EmbeddingOutput {
    pub body: Bytes,
    pub usage: Usage,
}

/// Reads `input` as OpenAI does: a string, an array of strings, an array
/// of token ids, or an array of token-id arrays. The error names what is wrong.
pub fn parse_input(input: Option<&Value>) -> Result<Vec<EmbeddingInput>, &'static str> {
    const SHAPE: &str = "`input` must be a string, an array of strings, an array of token ids or an array of token-id arrays, and not empty.";
    let tokens = |items: &[Value]| -> Option<Vec<u32>> {
        items
            .iter()
            .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect()
    };
    let inputs = match input {
        Some(Value::String(s)) => vec![EmbeddingInput::Text(s.clone())],
        Some(Value::Array(items)) if !items.is_empty() => match &items[0] {
            Value::String(_) => items
                .iter()
                .map(|v| v.as_str().map(|s| EmbeddingInput::Text(s.to_string())))
                .collect::<Option<Vec<_>>>()
                .ok_or(SHAPE)?,
            Value::Number(_) => vec![EmbeddingInput::Tokens(tokens(items).ok_or(SHAPE)?)],
            Value::Array(_) => items
                .iter()
                .map(|v| match v {
                    Value::Array(inner) if !inner.is_empty() => {
                        tokens(inner).map(EmbeddingInput::Tokens)
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or(SHAPE)?,
            _ => return Err(SHAPE),
        },
        _ => return Err(SHAPE),
    };
    Ok(inputs)
}

/// Reads `encoding_format`.
pub fn parse_encoding(value: Option<&Value>) -> Result<Encoding, &'static str> {
    match value {
        None | Some(Value::Null) => Ok(Encoding::Float),
        Some(Value::String(s)) if s == "float" => Ok(Encoding::Float),
        Some(Value::String(s)) if s == "base64" => Ok(Encoding::Base64),
        Some(_) => Err("`encoding_format` must be \"float\" or \"base64\"."),
    }
}

/// A vector as OpenAI encodes it for `encoding_format: base64`.
pub fn base64_of(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// OpenAI's embeddings list for vectors a provider returned as floats.
pub fn render_list(
    vectors: Vec<Vec<f32>>,
    encoding: Encoding,
    model: &str,
    prompt_tokens: u64,
) -> EmbeddingOutput {
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = match encoding {
                Encoding::Float => json!(vector),
                Encoding::Base64 => Value::String(base64_of(&vector)),
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    });
    EmbeddingOutput {
        body: Bytes::from(body.to_string()),
        usage: Usage {
            prompt_tokens,
            completion_tokens: 0,
            cached_tokens: 0,
        },
    }
}

/// A 400 naming a parameter the provider cannot take.
pub fn unsupported_param(provider: &str, param: &str, why: &str) -> ProviderError {
    ProviderError::invalid_request(format!("{provider}: `{param}` {why}"), Some(param))
}

impl Upstream {
    pub async fn embeddings(
        &self,
        call: EmbeddingCall<'_>,
    ) -> Result<EmbeddingOutput, ProviderError> {
        match self {
            Upstream::OpenAi(upstream) => {
                let provider = upstream.provider();
                let body = serde_json::to_vec(&call.body)
                    .map_err(|e| ProviderError::internal(provider, &e))?;
                let request = upstream.post("/embeddings", body)?;
                let body =
                    send_json(call.client, request, &upstream.target(), call.timeout).await?;
                let body = super::model_field::replace_model(&body, call.model_group)
                    .map_or(body, bytes::Bytes::from);
                Ok(EmbeddingOutput {
                    usage: usage_in_body(&body),
                    body,
                })
            }
            Upstream::Bedrock(upstream) => upstream.embeddings(call).await,
            Upstream::Gemini(upstream) => upstream.embeddings(call).await,
            Upstream::Azure(upstream) => upstream.embeddings(call).await,
            Upstream::Ollama(upstream) => {
                ollama::embeddings(call.client, upstream.api_base(), call).await
            }
            other => Err(ProviderError::invalid_request(
                format!(
                    "embeddings are not supported for provider `{}` by this Tollgate version yet",
                    other.provider_name()
                ),
                Some("model"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_read_in_every_openai_shape() {
        assert_eq!(
            parse_input(Some(&json!("hi"))),
            Ok(vec![EmbeddingInput::Text("hi".into())])
        );
        assert_eq!(
            parse_input(Some(&json!(["a", "b"]))),
            Ok(vec![
                EmbeddingInput::Text("a".into()),
                EmbeddingInput::Text("b".into())
            ])
        );
        assert_eq!(
            parse_input(Some(&json!([1, 2]))),
            Ok(vec![EmbeddingInput::Tokens(vec![1, 2])])
        );
        assert_eq!(
            parse_input(Some(&json!([[1], [2, 3]]))),
            Ok(vec![
                EmbeddingInput::Tokens(vec![1]),
                EmbeddingInput::Tokens(vec![2, 3])
            ])
        );
        for bad in [
            json!([]),
            json!(["a", 1]),
            json!([-1]),
            json!({}),
            json!([[]]),
        ] {
            assert!(parse_input(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_input(None).is_err());
    }

    #[test]
    fn base64_is_little_endian_f32() {
        // 1.0f32 = 0x3f800000 → LE bytes 00 00 80 3f.
        assert_eq!(base64_of(&[1.0]), "AACAPw==");
        assert_eq!(base64_of(&[1.0, -2.0]), "AACAPwAAAMA=");
    }

    #[test]
    fn rendered_list_is_openai_shaped() {
        let out = render_list(vec![vec![0.5, 1.0]], Encoding::Float, "group", 3);
        let body: Value = serde_json::from_slice(&out.body).expect("json");
        assert_eq!(
            body,
            json!({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,1.0]}],"model":"group","usage":{"prompt_tokens":3,"total_tokens":3}})
        );
        let out = render_list(vec![vec![1.0]], Encoding::Base64, "g", 1);
        let body: Value = serde_json::from_slice(&out.body).expect("json");
        assert_eq!(body["data"][0]["embedding"], json!("AACAPw=="));
    }
}
