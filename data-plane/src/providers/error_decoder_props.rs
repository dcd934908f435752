//! Every provider's error decoder reads a body the provider chose: no
//! status, header or body may panic it, what comes out is always an error
//! status with a message, and the deployment's key never survives in it.

use super::error::{ErrorAnswer, ProviderError};
use super::exchange::{Target, openai_error};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

const SECRET: &str = "sk-deployment-secret-0123";

type Decoder = fn(&Target<'_>, &ErrorAnswer) -> ProviderError;

/// Each provider's decoder as its `Target` wires it.
fn decoders() -> Vec<(&'static str, Decoder)> {
    vec![
        ("openai", openai_error),
        ("anthropic", |t, a| {
            super::anthropic::error::normalise(openai_error(t, a))
        }),
        ("gemini", super::gemini::error::decode),
        ("ollama", super::ollama::error::decode),
        ("bedrock", |t, a| {
            let kind = a
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok());
            super::bedrock::error::from_parts(a.status, kind, a.retry_after(), &a.body, t.secret)
        }),
    ]
}

/// Bodies shaped like the envelopes providers send, with arbitrary parts,
/// the key sometimes echoed; and arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        "\\PC{0,40}".boxed(),
        Just(format!("Incorrect API key provided: {SECRET}")).boxed(),
        Just("prompt is too long: 300000 tokens > 200000 maximum".to_string()).boxed(),
        Just("the input length exceeds the context length".to_string()).boxed(),
    ];
    let json = (text, "[a-z_]{0,20}", prop_oneof![Just(None), any::<i64>().prop_map(Some)], 0u8..6).prop_map(
        |(message, kind, code, shape)| {
            let value = match shape {
                0 => serde_json::json!({"error": {"message": message, "type": kind, "code": code}}),
                1 => serde_json::json!({"error": message}),
                2 => serde_json::json!({"detail": message}),
                3 => serde_json::json!({"message": message, "__type": kind}),
                4 => serde_json::json!({"type": "error", "error": {"type": kind, "message": message}}),
                _ => serde_json::json!({"error": {"code": code, "message": message, "status": kind}}),
            };
            value.to_string().into_bytes()
        },
    );
    prop_oneof![json, proptest::collection::vec(any::<u8>(), 0..256)]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    (
        proptest::option::of("[ -~]{0,12}"),
        proptest::option::of("[ -~]{0,12}"),
        proptest::option::of("[A-Za-z:#]{0,30}"),
    )
        .prop_map(|(after, after_ms, amzn)| {
            let mut headers = HeaderMap::new();
            for (name, value) in [
                ("retry-after", after),
                ("retry-after-ms", after_ms),
                ("x-amzn-errortype", amzn),
            ] {
                if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, v);
                }
            }
            headers
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_answer_panics_a_decoder_or_leaks_the_key(
        status in 400u16..600,
        headers in headers(),
        body in body(),
    ) {
        let status = StatusCode::from_u16(status).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let answer = ErrorAnswer { status, headers, body };
        for (provider, decode) in decoders() {
            let target = Target { provider, api_base: "http://upstream", secret: Some(SECRET), decode };
            let error = decode(&target, &answer);
            prop_assert!(error.status.is_client_error() || error.status.is_server_error(), "{provider}: {}", error.status);
            prop_assert!(!error.message.is_empty(), "{provider}: empty message");
            prop_assert!(!error.message.contains(SECRET), "{provider} leaked the key: {}", error.message);
            prop_assert!(!error.kind.is_empty(), "{provider}: no type");
            prop_assert!(error.code.is_some(), "{provider}: no code");
        }
    }
}
