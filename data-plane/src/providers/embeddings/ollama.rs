//! Ollama's native embeddings, `POST {api_base}/api/embed`:
//! `{"model","input":[...],"dimensions"?}` → `{"embeddings":[[...]],"prompt_eval_count"}`.
//!
//! Sent without credentials: the Ollama upstream keeps its key private, and
//! Ollama itself has none (a key-protected proxy answers 401, passed on).

use super::super::client::HttpClient;
use super::super::error::ProviderError;
use super::super::exchange::{Target, openai_error, send_json};
use super::{EmbeddingCall, EmbeddingInput, EmbeddingOutput, render_list, unsupported_param};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method};
use http_body_util::Full;
use serde_json::{Value, json};

const PROVIDER: &str = "ollama";

/// The `/api/embed` body.
pub fn request_body(
    model: &str,
    inputs: &[EmbeddingInput],
    dimensions: Option<u32>,
) -> Result<Value, ProviderError> {
    let texts: Vec<&str> = inputs
        .iter()
        .map(|i| {
            i.text().ok_or_else(|| {
                unsupported_param(PROVIDER, "input", "must be text: Ollama takes no token ids")
            })
        })
        .collect::<Result<_, _>>()?;
    let mut body = json!({ "model": model, "input": texts });
    if let Some(d) = dimensions {
        body["dimensions"] = json!(d);
    }
    Ok(body)
}

/// The vectors and the prompt token count of an `/api/embed` answer.
pub fn parse_response(body: &[u8]) -> Option<(Vec<Vec<f32>>, u64)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let vectors = value
        .get("embeddings")?
        .as_array()?
        .iter()
        .map(|v| {
            v.as_array()?
                .iter()
                .map(|f| f.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()
        })
        .collect::<Option<Vec<_>>>()?;
    let tokens = value
        .get("prompt_eval_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some((vectors, tokens))
}

pub async fn embeddings(
    client: &HttpClient,
    api_base: &str,
    call: EmbeddingCall<'_>,
) -> Result<EmbeddingOutput, ProviderError> {
    let model = call.body.get("model").and_then(Value::as_str).unwrap_or("");
    let body = request_body(model, &call.inputs, call.dimensions)?.to_string();
    let request = http::Request::builder()
        .method(Method::POST)
        .uri(format!("{api_base}/api/embed"))
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ProviderError::internal(PROVIDER, &e))?;
    let target = Target {
        provider: PROVIDER,
        api_base,
        secret: None,
        decode: openai_error,
    };
    let body = send_json(client, request, &target, call.timeout).await?;
    let (vectors, tokens) = parse_response(&body).ok_or_else(|| {
        ProviderError::bad_gateway("ollama: the response is not an /api/embed response".into())
    })?;
    Ok(render_list(
        vectors,
        call.encoding,
        call.model_group,
        tokens,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_request_and_response() {
        let inputs = [
            EmbeddingInput::Text("a b".into()),
            EmbeddingInput::Text("c".into()),
        ];
        assert_eq!(
            request_body("nomic-embed-text", &inputs, Some(4)).expect("text inputs"),
            json!({"model": "nomic-embed-text", "input": ["a b", "c"], "dimensions": 4})
        );
        let tokens = [EmbeddingInput::Tokens(vec![1, 2])];
        let e = request_body("m", &tokens, None).expect_err("token ids");
        assert_eq!(e.param.as_deref(), Some("input"));
        let parsed = parse_response(
            br#"{"model":"nomic-embed-text","embeddings":[[0.5,-1],[0.25,0]],"total_duration":1,"load_duration":1,"prompt_eval_count":3}"#,
        );
        assert_eq!(parsed, Some((vec![vec![0.5, -1.0], vec![0.25, 0.0]], 3)));
        assert!(parse_response(br#"{"error":"x"}"#).is_none());
    }
}
