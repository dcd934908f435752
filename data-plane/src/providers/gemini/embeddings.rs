//! Gemini embeddings: `POST {api_base}/v1beta/models/{model}:batchEmbedContents`
//! with `x-goog-api-key`. Gemini reports no token counts for embeddings, so
//! usage is estimated as the number of words (documented in
//! docs/providers/embeddings.md).

use super::{GeminiUpstream, PROVIDER};
use crate::providers::embeddings::{
    EmbeddingCall, EmbeddingOutput, render_list, unsupported_param,
};
use crate::providers::error::ProviderError;
use crate::providers::exchange::{Target, openai_error, send_json};
use http::Uri;
use serde_json::{Value, json};

/// The `batchEmbedContents` body for `texts`.
pub fn request_body(model: &str, texts: &[&str], dimensions: Option<u32>) -> Value {
    let requests: Vec<Value> = texts
        .iter()
        .map(|text| {
            let mut r = json!({
                "model": format!("models/{model}"),
                "content": {"parts": [{"text": text}]},
            });
            if let Some(d) = dimensions {
                r["outputDimensionality"] = json!(d);
            }
            r
        })
        .collect();
    json!({ "requests": requests })
}

/// The vectors of a `batchEmbedContents` answer.
pub fn parse_response(body: &[u8]) -> Option<Vec<Vec<f32>>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value
        .get("embeddings")?
        .as_array()?
        .iter()
        .map(|e| {
            e.get("values")?
                .as_array()?
                .iter()
                .map(|f| f.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()
        })
        .collect()
}

impl GeminiUpstream {
    pub async fn embeddings(
        &self,
        call: EmbeddingCall<'_>,
    ) -> Result<EmbeddingOutput, ProviderError> {
        let model = call
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let model = model.strip_prefix("models/").unwrap_or(model);
        let texts: Vec<&str> = call
            .inputs
            .iter()
            .map(|i| {
                i.text().ok_or_else(|| {
                    unsupported_param(PROVIDER, "input", "must be text: Gemini takes no token ids")
                })
            })
            .collect::<Result<_, _>>()?;
        let body = request_body(model, &texts, call.dimensions).to_string();
        let uri: Uri = format!("{}/v1beta/models/{model}:batchEmbedContents", self.api_base)
            .parse()
            .map_err(|_| unsupported_param(PROVIDER, "model", "cannot be used in a Gemini URL"))?;
        let request = self.post(uri, body.into_bytes())?;
        // Embedding errors keep the shared reading (no context-length marking).
        let target = Target {
            decode: openai_error,
            ..self.target()
        };
        let answer = send_json(call.client, request, &target, call.timeout).await?;
        let vectors = parse_response(&answer).ok_or_else(|| {
            ProviderError::bad_gateway(
                "gemini: the embeddings answer is not the expected JSON".into(),
            )
        })?;
        let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
        Ok(render_list(
            vectors,
            call.encoding,
            call.model_group,
            u64::try_from(words).unwrap_or(u64::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_request_and_response() {
        assert_eq!(
            request_body("text-embedding-004", &["a b", "c"], Some(4)),
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a b"}]}, "outputDimensionality": 4},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "c"}]}, "outputDimensionality": 4},
            ]})
        );
        let vectors = parse_response(br#"{"embeddings":[{"values":[0.5,-1]},{"values":[0]}]}"#);
        assert_eq!(vectors, Some(vec![vec![0.5, -1.0], vec![0.0]]));
        assert_eq!(
            parse_response(br#"{"embeddings":[{"values":["x"]}]}"#),
            None
        );
    }
}
