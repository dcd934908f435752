//! The Messages API request as the gateway reads it: the body is checked
//! the way Anthropic checks it (field-named messages, 400
//! `invalid_request_error`) before any provider is called, then kept whole
//! for whichever deployment serves it.

use super::error::AnthropicError;
use serde_json::{Map, Value};

/// A validated `POST /v1/messages` (or `count_tokens`) body.
pub struct MessagesRequest {
    pub model: String,
    pub stream: bool,
    /// `metadata.user_id`: the end user (LiteLLM's customer).
    pub end_user: Option<String>,
    pub body: Map<String, Value>,
}

fn invalid(message: impl Into<String>) -> AnthropicError {
    AnthropicError::invalid_request(message)
}

/// Parses and validates a Messages body; `count_tokens` bodies have no
/// `max_tokens` (`needs_max_tokens` false).
pub fn parse(bytes: &[u8], needs_max_tokens: bool) -> Result<MessagesRequest, AnthropicError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("The request body is not valid JSON: {e}")))?;
    let Value::Object(body) = value else {
        return Err(invalid("The request body must be a JSON object."));
    };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err(invalid("model: Input should be a non-empty string")),
        None => return Err(invalid("model: Field required")),
    };
    if needs_max_tokens {
        match body.get("max_tokens") {
            Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
            Some(_) => {
                return Err(invalid(
                    "max_tokens: Input should be an integer greater than or equal to 1",
                ));
            }
            None => return Err(invalid("max_tokens: Field required")),
        }
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    };
    validate_system(body.get("system"))?;
    validate_messages(body.get("messages"))?;
    validate_tools(body.get("tools"))?;
    validate_tool_choice(body.get("tool_choice"))?;
    if let Some(stop) = body.get("stop_sequences")
        && !stop
            .as_array()
            .is_some_and(|s| s.iter().all(Value::is_string))
    {
        return Err(invalid(
            "stop_sequences: Input should be a valid list of strings",
        ));
    }
    for (field, max) in [("temperature", 1.0), ("top_p", 1.0)] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            match v.as_f64() {
                Some(x) if (0.0..=max).contains(&x) => {}
                _ => {
                    return Err(invalid(format!(
                        "{field}: Input should be a number between 0 and {max}"
                    )));
                }
            }
        }
    }
    let end_user = match body.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => match m.get("user_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u.clone()).filter(|u| !u.is_empty()),
            Some(_) => return Err(invalid("metadata.user_id: Input should be a valid string")),
        },
        Some(_) => return Err(invalid("metadata: Input should be a valid dictionary")),
    };
    Ok(MessagesRequest {
        model,
        stream,
        end_user,
        body,
    })
}

fn validate_system(system: Option<&Value>) -> Result<(), AnthropicError> {
    match system {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text")
                    || !block.get("text").is_some_and(Value::is_string)
                {
                    return Err(invalid(format!(
                        "system.{i}: Input should be a text block with a string `text`"
                    )));
                }
            }
            Ok(())
        }
        Some(_) => Err(invalid("system: Input should be a valid string or list")),
    }
}

/// Content block types the API knows.
const BLOCK_TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
    "search_result",
    "container_upload",
];

fn validate_messages(messages: Option<&Value>) -> Result<(), AnthropicError> {
    let messages = match messages {
        Some(Value::Array(m)) => m,
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
        None => return Err(invalid("messages: Field required")),
    };
    if messages.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            _ => {
                return Err(invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        }
        match message.get("content") {
            Some(Value::String(_)) => {}
            Some(Value::Array(blocks)) => {
                for (j, block) in blocks.iter().enumerate() {
                    validate_block(block, i, j)?;
                }
            }
            Some(_) => {
                return Err(invalid(format!(
                    "messages.{i}.content: Input should be a valid string or list of content blocks"
                )));
            }
            None => return Err(invalid(format!("messages.{i}.content: Field required"))),
        }
    }
    Ok(())
}

fn validate_block(block: &Value, i: usize, j: usize) -> Result<(), AnthropicError> {
    let at = format!("messages.{i}.content.{j}");
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    if !BLOCK_TYPES.contains(&kind) {
        return Err(invalid(format!(
            "{at}.type: Input tag '{kind}' found using 'type' does not match any of the expected tags"
        )));
    }
    let string = |field: &str| block.get(field).is_some_and(Value::is_string);
    match kind {
        "text" if !string("text") => Err(invalid(format!("{at}.text: Field required"))),
        "image" | "document" if !block.get("source").is_some_and(Value::is_object) => {
            Err(invalid(format!("{at}.source: Field required")))
        }
        "tool_use" if !string("id") || !string("name") => Err(invalid(format!(
            "{at}: a tool_use block needs string `id` and `name`"
        ))),
        "tool_use" if !block.get("input").is_some_and(Value::is_object) => Err(invalid(format!(
            "{at}.input: Input should be a valid dictionary"
        ))),
        "tool_result" if !string("tool_use_id") => {
            Err(invalid(format!("{at}.tool_use_id: Field required")))
        }
        _ => Ok(()),
    }
}

fn validate_tools(tools: Option<&Value>) -> Result<(), AnthropicError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(t)) => t,
        Some(_) => return Err(invalid("tools: Input should be a valid list")),
    };
    for (i, tool) in tools.iter().enumerate() {
        if !tool.get("name").is_some_and(Value::is_string) {
            return Err(invalid(format!("tools.{i}.name: Field required")));
        }
        // Client tools carry a schema; server tools (`web_search_…`) a type.
        let custom = tool
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "custom");
        if custom && !tool.get("input_schema").is_some_and(Value::is_object) {
            return Err(invalid(format!("tools.{i}.input_schema: Field required")));
        }
    }
    Ok(())
}

fn validate_tool_choice(choice: Option<&Value>) -> Result<(), AnthropicError> {
    let Some(choice) = choice.filter(|c| !c.is_null()) else {
        return Ok(());
    };
    match choice.get("type").and_then(Value::as_str) {
        Some("auto" | "any" | "none") => Ok(()),
        Some("tool") if choice.get("name").is_some_and(Value::is_string) => Ok(()),
        Some("tool") => Err(invalid("tool_choice.name: Field required")),
        _ => Err(invalid(
            "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: AnthropicError) -> String {
        assert_eq!(e.kind, "invalid_request_error");
        e.message
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases: &[(&str, &str)] = &[
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            (r#"{"max_tokens":5,"messages":[]}"#, "model: Field required"),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
                "max_tokens: Field required",
            ),
            (
                r#"{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}"#,
                "max_tokens: Input should be an integer",
            ),
            (
                r#"{"model":"m","max_tokens":5}"#,
                "messages: Field required",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#,
                "messages.0.role",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"bogus"}]}]}"#,
                "messages.0.content.0.type",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f"}]}"#,
                "tools.0.input_schema",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool"}}"#,
                "tool_choice.name",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"metadata":{"user_id":5}}"#,
                "metadata.user_id",
            ),
            (
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"temperature":3}"#,
                "temperature",
            ),
        ];
        for (body, expected) in cases {
            let e = parse(body.as_bytes(), true).err().expect(body);
            let text = message(e);
            assert!(text.contains(expected), "{body}: {text}");
        }
    }

    #[test]
    fn a_valid_body_is_read() {
        let r = parse(
            br#"{"model":"claude","max_tokens":9,"stream":true,"metadata":{"user_id":"u-1"},"messages":[{"role":"user","content":"hi"}]}"#,
            true,
        )
        .expect("valid");
        assert_eq!(
            (r.model.as_str(), r.stream, r.end_user.as_deref()),
            ("claude", true, Some("u-1"))
        );
        // count_tokens has no max_tokens.
        assert!(
            parse(
                br#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#,
                false
            )
            .is_ok()
        );
    }
}
