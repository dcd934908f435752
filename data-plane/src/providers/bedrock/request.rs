//! OpenAI chat request → Bedrock Converse request body.

use super::super::error::ProviderError;
use serde_json::{Map, Value, json};

/// The tool LiteLLM (and Tollgate) forces for `response_format`: Converse
/// has no JSON mode, so the schema becomes a tool the model must call, and
/// its input is returned as the message content.
pub const JSON_TOOL: &str = "json_tool_call";

/// A translated request and what the response translation must know.
#[derive(Debug)]
pub struct Converse {
    pub body: Value,
    /// The answer is the input of [`JSON_TOOL`], returned as content.
    pub json_mode: bool,
}

/// Keys the gateway or the deployment config uses, never sent on.
const IGNORED: [&str; 4] = ["model", "stream", "stream_options", "user"];

/// Translates `body`. A parameter Converse cannot take is a 400 naming it,
/// or is dropped when `drop_params`.
pub fn translate(body: &Map<String, Value>, drop_params: bool) -> Result<Converse, ProviderError> {
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    let mut inference = Map::new();
    let mut tools: Option<Vec<Value>> = None;
    let mut tool_choice: Option<Value> = None;
    let mut json_schema: Option<Value> = None;
    let mut additional = Map::new();
    // Extended thinking is an Anthropic feature, passed through Converse's
    // model-specific fields.
    let thinking_model = body
        .get("model")
        .and_then(Value::as_str)
        .is_some_and(|m| m.contains("anthropic") || m.contains("claude"));
    for (key, value) in body {
        match key.as_str() {
            "messages" => {}
            k if IGNORED.contains(&k) || k.starts_with("aws_") => {}
            "max_tokens" | "max_completion_tokens" => {
                if !value.is_null() {
                    inference.insert("maxTokens".into(), value.clone());
                }
            }
            "temperature" => {
                inference.insert("temperature".into(), value.clone());
            }
            "top_p" => {
                inference.insert("topP".into(), value.clone());
            }
            "stop" => match value {
                Value::String(s) => {
                    inference.insert("stopSequences".into(), json!([s]));
                }
                Value::Array(_) => {
                    inference.insert("stopSequences".into(), value.clone());
                }
                Value::Null => {}
                _ => return Err(invalid("stop", "must be a string or an array of strings")),
            },
            "n" if value.as_u64() == Some(1) || value.is_null() => {}
            "tools" => tools = Some(translate_tools(value)?),
            "tool_choice" => match translate_tool_choice(value) {
                Ok(choice) => tool_choice = choice,
                Err(_) if drop_params => {}
                Err(e) => return Err(e),
            },
            "parallel_tool_calls" => {}
            "reasoning_effort" | "thinking" if thinking_model => {
                if let Some(thinking) = thinking_config(key, value)? {
                    additional.insert("thinking".into(), thinking);
                }
            }
            "response_format" => match value.get("type").and_then(Value::as_str) {
                Some("text") | None => {}
                Some("json_object") => json_schema = Some(json!({"type": "object"})),
                Some("json_schema") => {
                    json_schema = Some(
                        value
                            .get("json_schema")
                            .and_then(|s| s.get("schema"))
                            .cloned()
                            .unwrap_or_else(|| json!({"type": "object"})),
                    );
                }
                Some(_) => return Err(invalid("response_format", "type is not supported")),
            },
            other => {
                if !drop_params {
                    return Err(unsupported(other));
                }
            }
        }
    }
    let Some(Value::Array(input)) = body.get("messages") else {
        return Err(invalid("messages", "must be an array"));
    };
    for message in input {
        translate_message(message, drop_params, &mut system, &mut messages)?;
    }
    let mut out = Map::new();
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if !additional.is_empty() {
        out.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    let json_mode = json_schema.is_some();
    if let Some(schema) = json_schema {
        let tool = json!({"toolSpec": {
            "name": JSON_TOOL,
            "description": "Respond with a JSON object matching this schema.",
            "inputSchema": {"json": schema},
        }});
        tools.get_or_insert_with(Vec::new).push(tool);
        tool_choice = Some(json!({"tool": {"name": JSON_TOOL}}));
    }
    if let Some(tools) = tools.filter(|t| !t.is_empty()) {
        let mut config = Map::new();
        config.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = tool_choice {
            config.insert("toolChoice".into(), choice);
        }
        out.insert("toolConfig".into(), Value::Object(config));
    }
    Ok(Converse {
        body: Value::Object(out),
        json_mode,
    })
}

/// Anthropic's `thinking` from OpenAI's `reasoning_effort` (LiteLLM's
/// budgets: low 1024, medium 2048, high 4096 tokens) or LiteLLM's `thinking`.
fn thinking_config(key: &str, value: &Value) -> Result<Option<Value>, ProviderError> {
    if key == "thinking" {
        return match value {
            Value::Object(_) => Ok(Some(value.clone())),
            Value::Null => Ok(None),
            _ => Err(invalid("thinking", "must be an object")),
        };
    }
    let bad = || invalid("reasoning_effort", "must be one of none, low, medium, high");
    let budget = match value {
        Value::Null => return Ok(None),
        Value::String(effort) => match effort.as_str() {
            "none" => return Ok(None),
            "low" | "minimal" => 1024,
            "medium" => 2048,
            "high" => 4096,
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    Ok(Some(json!({"type": "enabled", "budget_tokens": budget})))
}

fn translate_tools(value: &Value) -> Result<Vec<Value>, ProviderError> {
    let Value::Array(tools) = value else {
        return Err(invalid("tools", "must be an array"));
    };
    tools
        .iter()
        .map(|tool| {
            let function = tool
                .get("function")
                .ok_or_else(|| invalid("tools", "each tool needs a `function`"))?;
            let name = function
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tools", "each function needs a `name`"))?;
            let mut spec = Map::new();
            spec.insert("name".into(), json!(name));
            if let Some(d) = function.get("description").and_then(Value::as_str) {
                spec.insert("description".into(), json!(d));
            }
            let schema = function
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            spec.insert("inputSchema".into(), json!({ "json": schema }));
            Ok(json!({ "toolSpec": spec }))
        })
        .collect()
}

fn translate_tool_choice(value: &Value) -> Result<Option<Value>, ProviderError> {
    match value {
        Value::String(s) if s == "auto" => Ok(Some(json!({"auto": {}}))),
        Value::String(s) if s == "required" => Ok(Some(json!({"any": {}}))),
        Value::String(s) if s == "none" => Err(invalid(
            "tool_choice",
            "`none` is not supported by Bedrock Converse; omit `tools` instead",
        )),
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice", "needs `function.name`"))?;
            Ok(Some(json!({"tool": {"name": name}})))
        }
        Value::Null => Ok(None),
        _ => Err(invalid("tool_choice", "is not valid")),
    }
}

/// Appends `message` to Converse's messages, merging consecutive turns of
/// the same role (Converse requires alternating roles; OpenAI sends one
/// `tool` message per result).
fn translate_message(
    message: &Value,
    drop_params: bool,
    system: &mut Vec<Value>,
    messages: &mut Vec<Value>,
) -> Result<(), ProviderError> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "each message needs a `role`"))?;
    let content = message.get("content").unwrap_or(&Value::Null);
    let (role, blocks) = match role {
        "system" | "developer" => {
            for text in texts(content)? {
                system.push(json!({ "text": text }));
            }
            return Ok(());
        }
        "user" => ("user", user_blocks(content, drop_params)?),
        "assistant" => {
            let mut blocks: Vec<Value> = texts(content)?
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| json!({ "text": t }))
                .collect();
            if let Some(Value::Array(calls)) = message.get("tool_calls") {
                for call in calls {
                    blocks.push(tool_use(call)?);
                }
            }
            ("assistant", blocks)
        }
        "tool" => {
            let id = message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("messages", "a `tool` message needs `tool_call_id`"))?;
            let text = texts(content)?.join("");
            (
                "user",
                vec![json!({"toolResult": {"toolUseId": id, "content": [{"text": text}]}})],
            )
        }
        other => {
            return Err(invalid(
                "messages",
                &format!("role `{other}` is not supported"),
            ));
        }
    };
    if blocks.is_empty() {
        return Ok(());
    }
    match messages.last_mut() {
        Some(last) if last.get("role").and_then(Value::as_str) == Some(role) => {
            if let Some(Value::Array(existing)) = last.get_mut("content") {
                existing.extend(blocks);
            }
        }
        _ => messages.push(json!({"role": role, "content": blocks})),
    }
    Ok(())
}

fn tool_use(call: &Value) -> Result<Value, ProviderError> {
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "each tool call needs an `id`"))?;
    let function = call
        .get("function")
        .ok_or_else(|| invalid("messages", "each tool call needs a `function`"))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "each tool call needs `function.name`"))?;
    let input = match function.get("arguments") {
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|_| invalid("messages", "tool call `arguments` must be JSON"))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    };
    Ok(json!({"toolUse": {"toolUseId": id, "name": name, "input": input}}))
}

/// The text of string content or of the text parts of an array.
fn texts(content: &Value) -> Result<Vec<String>, ProviderError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(parts) => Ok(parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
            .collect()),
        _ => Err(invalid(
            "messages",
            "`content` must be a string or an array",
        )),
    }
}

fn user_blocks(content: &Value, drop_params: bool) -> Result<Vec<Value>, ProviderError> {
    let Value::Array(parts) = content else {
        return Ok(texts(content)?
            .into_iter()
            .map(|t| json!({ "text": t }))
            .collect());
    };
    let mut blocks = Vec::new();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("text") => {
                if let Some(t) = part.get("text").and_then(Value::as_str) {
                    blocks.push(json!({ "text": t }));
                }
            }
            Some("image_url") => {
                let url = part
                    .get("image_url")
                    .and_then(|i| i.get("url").or(Some(i)))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("messages", "`image_url.url` is required"))?;
                match image_block(url) {
                    Ok(block) => blocks.push(block),
                    Err(_) if drop_params => {}
                    Err(e) => return Err(e),
                }
            }
            _ => {
                return Err(invalid(
                    "messages",
                    "content parts must be `text` or `image_url`",
                ));
            }
        }
    }
    Ok(blocks)
}

/// A `data:` URL as a Converse image block. Converse takes bytes only, and
/// the gateway does not fetch URLs on the request path.
fn image_block(url: &str) -> Result<Value, ProviderError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(invalid(
            "messages",
            "Bedrock Converse needs image bytes: send the image as a `data:image/...;base64,` URL",
        ));
    };
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| invalid("messages", "malformed `data:` URL"))?;
    let mime = meta
        .strip_suffix(";base64")
        .ok_or_else(|| invalid("messages", "`data:` URLs must be base64"))?;
    let format = match mime {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(invalid(
                "messages",
                &format!("image type `{other}` is not supported (png, jpeg, gif, webp)"),
            ));
        }
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

fn invalid(param: &str, why: &str) -> ProviderError {
    ProviderError::invalid_request(format!("bedrock: `{param}` {why}"), Some(param))
}

fn unsupported(param: &str) -> ProviderError {
    invalid(
        param,
        "is not supported by Bedrock Converse; remove it or set `drop_params: true`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn golden_full_request() {
        let body = obj(json!({
            "model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "call_2", "content": "rainy"}
            ],
            "max_tokens": 100, "temperature": 0.5, "top_p": 0.9, "stop": "END",
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "required",
            "stream": true, "user": "u1"
        }));
        let got = translate(&body, false).expect("translates");
        assert!(!got.json_mode);
        assert_eq!(
            got.body,
            json!({
                "system": [{"text": "Be terse."}],
                "messages": [
                    {"role": "user", "content": [
                        {"text": "what is this?"},
                        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
                    ]},
                    {"role": "assistant", "content": [
                        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                        {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Rome"}}}
                    ]},
                    {"role": "user", "content": [
                        {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
                        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "rainy"}]}}
                    ]}
                ],
                "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
                "toolConfig": {
                    "tools": [{"toolSpec": {"name": "get_weather", "description": "Weather", "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}],
                    "toolChoice": {"any": {}}
                }
            })
        );
    }

    #[test]
    fn json_mode_forces_the_json_tool() {
        let body = obj(json!({
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}
        }));
        let got = translate(&body, false).expect("translates");
        assert!(got.json_mode);
        assert_eq!(
            got.body["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "json_tool_call", "description": "Respond with a JSON object matching this schema.", "inputSchema": {"json": {"type": "object", "properties": {"a": {"type": "integer"}}}}}}], "toolChoice": {"tool": {"name": "json_tool_call"}}})
        );
    }

    #[test]
    fn reasoning_effort_becomes_anthropic_thinking() {
        let body = obj(json!({
            "model": "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "messages": [{"role": "user", "content": "hi"}],
            "reasoning_effort": "medium"
        }));
        let got = translate(&body, false).expect("translates");
        assert_eq!(
            got.body["additionalModelRequestFields"],
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})
        );
        let body = obj(json!({
            "model": "amazon.nova-pro-v1:0",
            "messages": [{"role": "user", "content": "hi"}],
            "reasoning_effort": "medium"
        }));
        let e = translate(&body, false).expect_err("not a thinking model");
        assert_eq!(e.param.as_deref(), Some("reasoning_effort"));
    }

    #[test]
    fn unsupported_params_fail_unless_dropped() {
        let body = obj(json!({"messages": [{"role": "user", "content": "hi"}], "seed": 7}));
        let e = translate(&body, false).expect_err("seed");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.param.as_deref(), Some("seed"));
        let ok = translate(&body, true).expect("dropped");
        assert_eq!(
            ok.body,
            json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
        );

        let body = obj(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "see"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        ]}]}));
        let e = translate(&body, false).expect_err("http image");
        assert!(e.message.contains("data:"), "{}", e.message);
        let ok = translate(&body, true).expect("image dropped");
        assert_eq!(ok.body["messages"][0]["content"], json!([{"text": "see"}]));
    }
}
