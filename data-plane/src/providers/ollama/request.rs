//! OpenAI chat request → Ollama's native `/api/chat` request.
//!
//! Ollama takes OpenAI-like messages, but content is a plain string, images
//! are base64 strings in the message's `images` array, tool-call arguments
//! are JSON objects (not strings), and sampling parameters live in `options`.

use crate::providers::error::ProviderError;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Parameters consumed elsewhere or meaningless to Ollama that are ignored
/// (`user` is for the gateway's accounting).
const IGNORED: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "user",
    "parallel_tool_calls",
];

pub fn invalid(param: &str, message: String) -> ProviderError {
    ProviderError::invalid_request(format!("ollama: {message}"), Some(param))
}

fn unsupported(param: &str) -> ProviderError {
    invalid(
        param,
        format!(
            "parameter `{param}` is not supported by Ollama; set `drop_params: true` to drop it"
        ),
    )
}

/// Translates an OpenAI chat body into Ollama's `/api/chat` body.
pub fn translate(
    body: &Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Result<Value, ProviderError> {
    let mut out = Map::new();
    out.insert(
        "model".into(),
        body.get("model").cloned().unwrap_or(Value::Null),
    );
    let mut options = Map::new();
    for (key, value) in body {
        if value.is_null() || IGNORED.contains(&key.as_str()) {
            continue;
        }
        match key.as_str() {
            "temperature" | "top_p" | "seed" | "frequency_penalty" | "presence_penalty" => {
                options.insert(key.clone(), value.clone());
            }
            // Ollama's own options, accepted as LiteLLM does (in the request
            // or as `litellm_params` of the deployment).
            "top_k" | "min_p" | "typical_p" | "num_ctx" | "num_keep" | "num_gpu" | "num_thread"
            | "repeat_penalty" | "repeat_last_n" | "mirostat" | "mirostat_eta" | "mirostat_tau"
            | "tfs_z" => {
                options.insert(key.clone(), value.clone());
            }
            "keep_alive" | "think" => {
                out.insert(key.clone(), value.clone());
            }
            "max_tokens" | "max_completion_tokens" => {
                options.insert("num_predict".into(), value.clone());
            }
            "stop" => {
                let stops = match value {
                    Value::String(s) => json!([s]),
                    Value::Array(_) => value.clone(),
                    _ => {
                        return Err(invalid(
                            "stop",
                            "`stop` must be a string or an array".into(),
                        ));
                    }
                };
                options.insert("stop".into(), stops);
            }
            "n" if value.as_u64() == Some(1) => {}
            "tool_choice" if value.as_str() == Some("auto") => {}
            "response_format" => {
                if let Some(format) = response_format(value)? {
                    out.insert("format".into(), format);
                }
            }
            "reasoning_effort" => {
                let think = !matches!(value.as_str(), Some("none" | "disable"));
                out.insert("think".into(), Value::Bool(think));
            }
            "tools" => {
                out.insert("tools".into(), tools(value)?);
            }
            other if drop_params => {
                tracing::debug!(param = other, "ollama: dropping unsupported parameter");
            }
            other => return Err(unsupported(other)),
        }
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages", "`messages` must be an array".into()))?;
    out.insert(
        "messages".into(),
        Value::Array(translate_messages(messages, drop_params)?),
    );
    if !options.is_empty() {
        out.insert("options".into(), Value::Object(options));
    }
    out.insert("stream".into(), Value::Bool(stream));
    Ok(Value::Object(out))
}

fn response_format(value: &Value) -> Result<Option<Value>, ProviderError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!("json"))),
        Some("json_schema") => Ok(Some(
            value
                .pointer("/json_schema/schema")
                .cloned()
                .unwrap_or_else(|| json!("json")),
        )),
        _ => Err(invalid(
            "response_format",
            "`response_format.type` must be text, json_object or json_schema".into(),
        )),
    }
}

/// Ollama takes OpenAI's tool shape; only functions exist.
fn tools(value: &Value) -> Result<Value, ProviderError> {
    let list = value
        .as_array()
        .ok_or_else(|| invalid("tools", "`tools` must be an array".into()))?;
    if list
        .iter()
        .any(|t| t.get("type").and_then(Value::as_str) != Some("function"))
    {
        return Err(invalid(
            "tools",
            "only `function` tools are supported".into(),
        ));
    }
    Ok(value.clone())
}

fn translate_messages(messages: &[Value], drop_params: bool) -> Result<Vec<Value>, ProviderError> {
    // Tool results name their call by id; Ollama wants the function's name.
    let mut call_names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let role = match role {
            "developer" => "system",
            "system" | "user" | "assistant" | "tool" => role,
            other => {
                return Err(invalid(
                    "messages",
                    format!("message role `{other}` is not supported"),
                ));
            }
        };
        let (content, images) =
            content(message.get("content").unwrap_or(&Value::Null), drop_params)?;
        let mut translated = Map::new();
        translated.insert("role".into(), json!(role));
        translated.insert("content".into(), json!(content));
        if !images.is_empty() {
            translated.insert("images".into(), json!(images));
        }
        if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
            let calls = calls
                .iter()
                .map(|call| tool_call(call, &mut call_names))
                .collect::<Result<Vec<_>, _>>()?;
            translated.insert("tool_calls".into(), Value::Array(calls));
        }
        if role == "tool"
            && let Some(name) = message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .and_then(|id| call_names.get(id))
        {
            translated.insert("tool_name".into(), json!(name));
        }
        out.push(Value::Object(translated));
    }
    Ok(out)
}

fn tool_call(call: &Value, names: &mut HashMap<String, String>) -> Result<Value, ProviderError> {
    let name = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "a tool call lacks `function.name`".into()))?;
    if let Some(id) = call.get("id").and_then(Value::as_str) {
        names.insert(id.to_string(), name.to_string());
    }
    let arguments = match call.pointer("/function/arguments") {
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            invalid(
                "messages",
                format!("tool call `{name}` has arguments that are not JSON: {e}"),
            )
        })?,
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => json!({}),
    };
    Ok(json!({"function": {"name": name, "arguments": arguments}}))
}

/// Content as one string plus the base64 images it carried.
fn content(content: &Value, drop_params: bool) -> Result<(String, Vec<String>), ProviderError> {
    match content {
        Value::Null => Ok((String::new(), Vec::new())),
        Value::String(s) => Ok((s.clone(), Vec::new())),
        Value::Array(parts) => {
            let mut texts = Vec::new();
            let mut images = Vec::new();
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        texts.push(part.get("text").and_then(Value::as_str).unwrap_or(""))
                    }
                    Some("image_url") => {
                        let url = part
                            .get("image_url")
                            .and_then(|i| i.get("url").or(Some(i)))
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                invalid("messages", "an `image_url` part lacks `url`".into())
                            })?;
                        match url
                            .strip_prefix("data:")
                            .and_then(|rest| rest.split_once(";base64,"))
                        {
                            Some((_, data)) => images.push(data.to_string()),
                            // Ollama takes only inline images; fetching URLs on
                            // the request path is not the gateway's job.
                            None if drop_params => {}
                            None => {
                                return Err(invalid(
                                    "messages",
                                    "Ollama accepts only base64 `data:` image URLs; set `drop_params: true` to drop other images".into(),
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(invalid(
                            "messages",
                            format!(
                                "content part type `{}` is not supported by Ollama",
                                other.unwrap_or("?")
                            ),
                        ));
                    }
                }
            }
            Ok((texts.join("\n"), images))
        }
        _ => Err(invalid(
            "messages",
            "message `content` must be a string or an array".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::object as body;

    #[test]
    fn golden_full_request() {
        let request = body(json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_0", "content": "sunny"}
            ],
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "stop": "END", "seed": 7, "n": 1,
            "user": "u1", "tool_choice": "auto",
            "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        }));
        let got = translate(&request, true, false).expect("translates");
        assert_eq!(
            got,
            json!({
                "model": "llama3.2",
                "messages": [
                    {"role": "system", "content": "Be terse."},
                    {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                    {"role": "tool", "content": "sunny", "tool_name": "get_weather"}
                ],
                "options": {"temperature": 0.2, "top_p": 0.9, "num_predict": 100, "stop": ["END"], "seed": 7},
                "format": "json",
                "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
                "stream": true
            })
        );
    }

    #[test]
    fn ollama_specific_params_pass_through() {
        let request =
            body(json!({"model": "m", "messages": [], "num_ctx": 8192, "keep_alive": "5m"}));
        let got = translate(&request, false, false).expect("translates");
        assert_eq!(got["options"], json!({"num_ctx": 8192}));
        assert_eq!(got["keep_alive"], json!("5m"));
    }

    #[test]
    fn json_schema_becomes_format() {
        let request = body(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}),
        );
        let got = translate(&request, false, false).expect("translates");
        assert_eq!(got["format"], json!({"type": "object"}));
        assert_eq!(got["stream"], json!(false));
    }

    #[test]
    fn http_images_and_unknown_params_fail_unless_dropped() {
        let request = body(
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
        );
        let e = translate(&request, false, false).expect_err("rejected");
        assert_eq!(e.param.as_deref(), Some("messages"));
        let dropped = translate(&request, false, true).expect("dropped");
        assert_eq!(
            dropped["messages"],
            json!([{"role": "user", "content": ""}])
        );

        let request =
            body(json!({"model": "m", "messages": [], "n": 2, "tool_choice": "required"}));
        assert_eq!(
            translate(&request, false, false)
                .err()
                .and_then(|e| e.param)
                .as_deref(),
            Some("n")
        );
        assert!(translate(&request, false, true).is_ok());
    }
}
