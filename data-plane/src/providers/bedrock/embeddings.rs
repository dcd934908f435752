//! Bedrock embeddings through `InvokeModel` (`/model/{id}/invoke`), in each
//! model family's own body: Titan (`inputText`, one text per call) and
//! Cohere (`texts`, a batch per call).

use super::super::embeddings::{
    EmbeddingCall, EmbeddingInput, EmbeddingOutput, render_list, unsupported_param,
};
use super::super::error::ProviderError;
use super::super::exchange::{send_json, send_whole};
use super::{BedrockUpstream, PROVIDER, bad_response};
use serde_json::{Value, json};

enum Family {
    Titan,
    Cohere,
}

fn family(model_id: &str) -> Option<Family> {
    // Cross-region inference ids carry a prefix (`us.cohere.embed-…`).
    if model_id.contains("amazon.titan-embed") {
        Some(Family::Titan)
    } else if model_id.contains("cohere.embed") {
        Some(Family::Cohere)
    } else {
        None
    }
}

fn texts(inputs: &[EmbeddingInput]) -> Result<Vec<&str>, ProviderError> {
    inputs
        .iter()
        .map(|i| {
            i.text().ok_or_else(|| {
                unsupported_param(
                    PROVIDER,
                    "input",
                    "must be text: Bedrock models take no token ids",
                )
            })
        })
        .collect()
}

/// The Titan request body for one text.
fn titan_body(text: &str, dimensions: Option<u32>) -> Value {
    let mut body = json!({ "inputText": text });
    if let Some(d) = dimensions {
        body["dimensions"] = json!(d);
    }
    body
}

fn cohere_body(texts: &[&str]) -> Value {
    json!({"texts": texts, "input_type": "search_document"})
}

fn floats(value: Option<&Value>) -> Option<Vec<f32>> {
    value?
        .as_array()?
        .iter()
        .map(|v| v.as_f64().map(|f| f as f32))
        .collect()
}

impl BedrockUpstream {
    pub async fn embeddings(
        &self,
        call: EmbeddingCall<'_>,
    ) -> Result<EmbeddingOutput, ProviderError> {
        let texts = texts(&call.inputs)?;
        match family(self.model_id()) {
            Some(Family::Titan) => {
                let mut vectors = Vec::with_capacity(texts.len());
                let mut tokens = 0;
                // Titan embeds one text per call.
                for text in texts {
                    let body = titan_body(text, call.dimensions).to_string().into_bytes();
                    let request = self.signed_request("invoke", body, "application/json")?;
                    let body =
                        send_json(call.client, request, &self.target(), call.timeout).await?;
                    let value: Value = serde_json::from_slice(&body).map_err(|_| bad_response())?;
                    vectors.push(floats(value.get("embedding")).ok_or_else(bad_response)?);
                    tokens += value
                        .get("inputTextTokenCount")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                }
                Ok(render_list(
                    vectors,
                    call.encoding,
                    call.model_group,
                    tokens,
                ))
            }
            Some(Family::Cohere) => {
                if call.dimensions.is_some() {
                    return Err(unsupported_param(
                        PROVIDER,
                        "dimensions",
                        "is not supported by Cohere embeddings on Bedrock",
                    ));
                }
                let body = cohere_body(&texts).to_string().into_bytes();
                let request = self.signed_request("invoke", body, "application/json")?;
                let answer = send_whole(call.client, request, &self.target(), call.timeout).await?;
                let value: Value =
                    serde_json::from_slice(answer.body()).map_err(|_| bad_response())?;
                let vectors = value
                    .get("embeddings")
                    .and_then(Value::as_array)
                    .ok_or_else(bad_response)?
                    .iter()
                    .map(|v| floats(Some(v)))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(bad_response)?;
                // Cohere's body has no token count; Bedrock reports it in a header.
                let tokens = answer
                    .headers()
                    .get("x-amzn-bedrock-input-token-count")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok(render_list(
                    vectors,
                    call.encoding,
                    call.model_group,
                    tokens,
                ))
            }
            None => Err(unsupported_param(
                PROVIDER,
                "model",
                "is not a Bedrock embedding model Tollgate supports (amazon.titan-embed-*, cohere.embed-*)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_invoke_bodies() {
        assert_eq!(
            titan_body("hello", Some(256)),
            json!({"inputText": "hello", "dimensions": 256})
        );
        assert_eq!(titan_body("hello", None), json!({"inputText": "hello"}));
        assert_eq!(
            cohere_body(&["a", "b"]),
            json!({"texts": ["a", "b"], "input_type": "search_document"})
        );
        assert!(matches!(
            family("amazon.titan-embed-text-v2:0"),
            Some(Family::Titan)
        ));
        assert!(matches!(
            family("us.cohere.embed-english-v3"),
            Some(Family::Cohere)
        ));
        assert!(family("anthropic.claude-3").is_none());
        assert_eq!(floats(Some(&json!([0.5, -1]))), Some(vec![0.5, -1.0]));
    }
}
