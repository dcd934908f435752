//! The shape of what chat, completions and embeddings forward, checked
//! before any provider is called.
//!
//! LiteLLM forwards most of a request untouched and lets the provider
//! refuse it; a provider that answers a malformed request with a 500 (or a
//! translation that cannot represent it) then turns a client's mistake into
//! a server error, a retry and a cooldown. Tollgate refuses it itself with
//! the 400 OpenAI would send: `invalid_request_error`, `param` naming the
//! bad field as OpenAI spells it (`messages[2]`, `messages[0].content`,
//! `tools[1].function.name`), and a message saying what was expected.
//!
//! Only what OpenAI itself checks is checked, so nothing OpenAI accepts is
//! refused; fields Tollgate does not know are forwarded as before.

mod inputs;
mod messages;
mod params;
mod settings;
mod tools;

use super::error::ApiError;
use serde_json::{Map, Value};

/// A field of the request that OpenAI would refuse.
#[derive(Debug, PartialEq)]
pub struct Invalid {
    /// OpenAI's spelling of the field: `messages[0].content`.
    pub param: String,
    pub message: String,
}

impl Invalid {
    fn new(param: impl Into<String>, expected: &str, got: &Value) -> Self {
        let param = param.into();
        let message = format!(
            "Invalid '{param}': expected {expected}, got {}. Fix that field and resend the request.",
            describe(got)
        );
        Self { param, message }
    }

    fn missing(param: impl Into<String>, expected: &str) -> Self {
        let param = param.into();
        let message = format!(
            "Missing required parameter: '{param}' ({expected}). Add it and resend the request."
        );
        Self { param, message }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::bad_request(invalid.message, Some(&invalid.param))
    }
}

/// `POST /v1/chat/completions`: `messages` entry by entry, tools,
/// `tool_choice` and the sampling parameters.
pub fn chat(body: &Map<String, Value>) -> Result<(), Invalid> {
    messages::check(body.get("messages"))?;
    tools::check(body)?;
    settings::check(body)?;
    params::check_chat(body)
}

/// `POST /v1/completions`: `prompt` and the sampling parameters.
pub fn completion(body: &Map<String, Value>) -> Result<(), Invalid> {
    inputs::check_prompt(body.get("prompt"))?;
    settings::check(body)?;
    params::check_completion(body)
}

/// `POST /v1/embeddings`: `input`.
pub fn embedding(body: &Map<String, Value>) -> Result<(), Invalid> {
    inputs::check_embedding_input(body.get("input"))?;
    settings::check(body)
}

/// A JSON value named the way the messages say it: `null`, `an array`, ….
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".to_string(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(items) if items.is_empty() => "an empty array".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// An optional field (absent or `null`) that must be of one type when set.
fn optional<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chat_param(body: Value) -> Option<String> {
        let Value::Object(body) = body else {
            return Some("not an object".into());
        };
        chat(&body).err().map(|e| e.param)
    }

    #[test]
    fn a_plain_chat_request_passes() {
        let body = json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hi"},
                                         {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
           "tool_choice": "auto", "n": 2, "stop": ["\n"], "temperature": 0.5});
        assert_eq!(chat_param(body), None);
    }

    #[test]
    fn bad_entries_are_named() {
        let cases = [
            (
                json!([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, null]),
                "messages[2]",
            ),
            (json!([[]]), "messages[0]"),
            (json!([{"content": "x"}]), "messages[0].role"),
            (
                json!([{"role": "robot", "content": "x"}]),
                "messages[0].role",
            ),
            (
                json!([{"role": "user", "content": 3}]),
                "messages[0].content",
            ),
            (json!([{"role": "user"}]), "messages[0].content"),
            (
                json!([{"role": "user", "content": [{"text": "x"}]}]),
                "messages[0].content[0].type",
            ),
            (
                json!([{"role": "user", "content": ["x"]}]),
                "messages[0].content[0]",
            ),
            (
                json!([{"role": "user", "content": [{"type": "text", "text": 1}]}]),
                "messages[0].content[0].text",
            ),
            (
                json!([{"role": "assistant", "content": null}]),
                "messages[0].content",
            ),
            (
                json!([{"role": "tool", "content": "x"}]),
                "messages[0].tool_call_id",
            ),
            (
                json!([{"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}]),
                "messages[0].tool_calls[0].function.name",
            ),
        ];
        for (messages, param) in cases {
            let body = json!({"model": "m", "messages": messages});
            assert_eq!(chat_param(body).as_deref(), Some(param), "{messages}");
        }
    }

    #[test]
    fn tools_and_parameters_are_named() {
        let user = json!([{"role": "user", "content": "x"}]);
        let cases = [
            (json!({"tools": {}}), "tools"),
            (
                json!({"tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {}}]}),
                "tools[1].function.name",
            ),
            (
                json!({"tools": [{"type": "function", "function": {"name": "has space"}}]}),
                "tools[0].function.name",
            ),
            (
                json!({"tools": [{"type": "function"}]}),
                "tools[0].function",
            ),
            (json!({"tools": [null]}), "tools[0]"),
            (json!({"tool_choice": "sometimes"}), "tool_choice"),
            (
                json!({"tool_choice": {"type": "function", "function": {}}}),
                "tool_choice.function.name",
            ),
            (json!({"n": 0}), "n"),
            (json!({"n": 1.5}), "n"),
            (json!({"stop": 5}), "stop"),
            (json!({"stop": ["a", 1]}), "stop[1]"),
            (json!({"temperature": 3}), "temperature"),
            (json!({"temperature": "hot"}), "temperature"),
            (json!({"top_p": -0.1}), "top_p"),
            (json!({"max_tokens": 0}), "max_tokens"),
            (json!({"max_tokens": 1e300}), "max_tokens"),
            (json!({"presence_penalty": 2.5}), "presence_penalty"),
            (json!({"logit_bias": {"1": 101}}), "logit_bias.1"),
            (json!({"top_logprobs": 21}), "top_logprobs"),
            (json!({"user": 7}), "user"),
            (json!({"stream_options": true}), "stream_options"),
            (
                json!({"response_format": {"type": 1}}),
                "response_format.type",
            ),
        ];
        for (extra, param) in cases {
            let mut body = json!({"model": "m", "messages": user});
            if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra.clone()) {
                body.extend(extra);
            }
            assert_eq!(chat_param(body).as_deref(), Some(param), "{extra}");
        }
    }

    #[test]
    fn nulls_are_accepted_where_openai_accepts_them() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "n": null, "stop": null, "temperature": null, "tools": null, "tool_choice": null,
            "max_tokens": null, "user": null});
        assert_eq!(chat_param(body), None);
    }

    #[test]
    fn the_message_says_what_was_expected() {
        let body = json!({"model": "m", "messages": [null]});
        let Value::Object(body) = body else { return };
        let Err(e) = chat(&body) else {
            panic!("null entry accepted")
        };
        assert!(
            e.message.contains("'messages[0]'") && e.message.contains("got null"),
            "{}",
            e.message
        );
    }

    #[test]
    fn completion_prompts_and_embedding_inputs_are_named() {
        let prompt = |p: Value| {
            let Value::Object(body) = json!({"model": "m", "prompt": p}) else {
                return None;
            };
            completion(&body).err().map(|e| e.param)
        };
        assert_eq!(prompt(json!("hi")), None);
        assert_eq!(prompt(json!([[1, 2], [3]])), None);
        assert_eq!(prompt(json!(["a", 1])).as_deref(), Some("prompt[1]"));
        assert_eq!(prompt(json!([[1, -2]])).as_deref(), Some("prompt[0][1]"));
        assert_eq!(prompt(json!([])).as_deref(), Some("prompt"));
        assert_eq!(prompt(json!(null)).as_deref(), Some("prompt"));

        let input = |i: Value| {
            let Value::Object(body) = json!({"model": "m", "input": i}) else {
                return None;
            };
            embedding(&body).err().map(|e| e.param)
        };
        assert_eq!(input(json!("hi")), None);
        assert_eq!(input(json!(["a", "b"])), None);
        assert_eq!(input(json!([1, 2])), None);
        assert_eq!(input(json!([[1], [2, 3]])), None);
        assert_eq!(input(json!([])).as_deref(), Some("input"));
        assert_eq!(input(json!(["a", null])).as_deref(), Some("input[1]"));
        assert_eq!(input(json!([[1], []])).as_deref(), Some("input[1]"));
        assert_eq!(input(json!([[1], ["x"]])).as_deref(), Some("input[1][0]"));
        assert_eq!(input(json!({"text": "x"})).as_deref(), Some("input"));
    }
}
