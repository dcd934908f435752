//! OpenAI chat request → Anthropic Messages request, as LiteLLM translates it.

use super::error::{InvalidRequest, invalid_request};
use serde_json::{Map, Value, json};

/// The tool LiteLLM uses to get JSON out of Claude for `response_format`.
pub const JSON_TOOL_NAME: &str = "json_tool_call";

/// OpenAI parameters the Messages API has no equivalent for: refused (400)
/// unless the deployment drops unsupported parameters.
const UNSUPPORTED: &[&str] = &[
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "audio",
    "modalities",
    "prediction",
    "store",
    "verbosity",
    "web_search_options",
    "functions",
    "function_call",
];

/// Parameters consumed by the translation (or by the gateway) rather than
/// copied to the Anthropic body.
const TRANSLATED: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "user",
    "n",
    "stream",
    "stream_options",
    "reasoning_effort",
];

/// What the response side must know about how the request was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// `response_format` was turned into the JSON tool: its `tool_use` input
    /// is the message content.
    pub json_mode: bool,
}

/// Translates an OpenAI body (model already the upstream name).
pub fn translate(
    body: &Map<String, Value>,
    drop_params: bool,
) -> Result<(Map<String, Value>, RequestMeta), InvalidRequest> {
    let mut out = Map::new();
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    out.insert("model".into(), Value::String(model.to_string()));

    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_request("`messages` must be an array", Some("messages")))?;
    let (system, messages) = translate_messages(messages)?;
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    out.insert("messages".into(), Value::Array(messages));

    let max_tokens = body
        .get("max_completion_tokens")
        .filter(|v| !v.is_null())
        .or_else(|| body.get("max_tokens").filter(|v| !v.is_null()))
        .cloned()
        .unwrap_or_else(|| json!(default_max_tokens(model)));
    out.insert("max_tokens".into(), max_tokens);

    for (key, value) in body {
        if TRANSLATED.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        if UNSUPPORTED.contains(&key.as_str()) {
            if drop_params {
                continue;
            }
            return Err(unsupported(key));
        }
        // Everything else is either the same in both APIs (`temperature`,
        // `top_p`) or Anthropic-specific (`top_k`, `thinking`, `metadata`),
        // passed through as LiteLLM passes provider-specific parameters.
        out.insert(key.clone(), value.clone());
    }

    match body.get("n").and_then(Value::as_u64) {
        None | Some(1) => {}
        Some(_) if drop_params => {}
        Some(_) => return Err(unsupported("n")),
    }

    if let Some(stop) = body.get("stop") {
        let sequences: Vec<Value> = match stop {
            Value::String(s) => vec![Value::String(s.clone())],
            Value::Array(items) => items.iter().filter(|s| s.is_string()).cloned().collect(),
            _ => Vec::new(),
        };
        if !sequences.is_empty() {
            out.insert("stop_sequences".into(), Value::Array(sequences));
        }
    }

    if let Some(effort) = body.get("reasoning_effort").and_then(Value::as_str) {
        // LiteLLM's budgets for OpenAI's effort levels.
        let budget = match effort {
            "low" => 1024,
            "medium" => 2048,
            _ => 4096,
        };
        out.entry("thinking")
            .or_insert_with(|| json!({"type": "enabled", "budget_tokens": budget}));
    }

    let mut tools = match body.get("tools") {
        Some(Value::Array(tools)) => tools
            .iter()
            .map(translate_tool)
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let mut tool_choice = match body.get("tool_choice") {
        Some(choice) if !choice.is_null() => Some(translate_tool_choice(choice)?),
        _ => None,
    };
    if body.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
        let choice = tool_choice.get_or_insert_with(|| json!({"type": "auto"}));
        choice["disable_parallel_tool_use"] = Value::Bool(true);
    }

    let mut meta = RequestMeta::default();
    if let Some(format) = body.get("response_format") {
        let schema = match format.get("type").and_then(Value::as_str) {
            Some("json_object") => Some(None),
            Some("json_schema") => Some(
                format
                    .get("json_schema")
                    .and_then(|s| s.get("schema"))
                    .cloned(),
            ),
            _ => None,
        };
        if let Some(schema) = schema {
            tools.push(json_tool(schema));
            let thinking = out.get("thinking").is_some();
            // Forcing a tool is not allowed with extended thinking.
            if !thinking {
                tool_choice = Some(json!({"type": "tool", "name": JSON_TOOL_NAME}));
            }
            meta.json_mode = true;
        }
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = tool_choice {
        out.insert("tool_choice".into(), choice);
    }

    if let Some(user) = body.get("user").and_then(Value::as_str) {
        // Anthropic rejects user ids that look like emails or phone numbers.
        if !user.is_empty() && !user.contains('@') {
            out.entry("metadata")
                .or_insert_with(|| json!({"user_id": user}));
        }
    }
    Ok((out, meta))
}

/// Anthropic requires `max_tokens`; when the caller gives none, the model's
/// output limit is used (LiteLLM's model map), else a conservative 4096.
pub fn default_max_tokens(model: &str) -> u64 {
    const LIMITS: &[(&str, u64)] = &[
        ("claude-opus-4-5", 64_000),
        ("claude-opus-4", 32_000),
        ("claude-sonnet-4", 64_000),
        ("claude-haiku-4", 64_000),
        ("claude-3-7-sonnet", 64_000),
        ("claude-3-5-sonnet", 8192),
        ("claude-3-5-haiku", 8192),
        ("claude-3-opus", 4096),
        ("claude-3-sonnet", 4096),
        ("claude-3-haiku", 4096),
    ];
    LIMITS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or(4096, |(_, limit)| *limit)
}

fn unsupported(param: &str) -> InvalidRequest {
    invalid_request(
        &format!(
            "anthropic does not support parameter `{param}`; remove it, or set `drop_params: true` to drop it"
        ),
        Some(param),
    )
}

fn json_tool(schema: Option<Value>) -> Value {
    let input_schema = match schema {
        Some(Value::Object(mut schema)) => {
            schema.insert("type".into(), Value::String("object".into()));
            Value::Object(schema)
        }
        // Anthropic rejects `properties: null`; an open object accepts any JSON.
        _ => json!({"type": "object", "additionalProperties": true, "properties": {}}),
    };
    json!({"name": JSON_TOOL_NAME, "input_schema": input_schema})
}

fn translate_tool(tool: &Value) -> Result<Value, InvalidRequest> {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Err(invalid_request(
            "anthropic: only tools of type `function` are supported",
            Some("tools"),
        ));
    }
    let function = tool.get("function").unwrap_or(&Value::Null);
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_request("every tool needs `function.name`", Some("tools")))?;
    let mut out = Map::new();
    out.insert("name".into(), Value::String(name.to_string()));
    if let Some(description) = function.get("description").filter(|d| d.is_string()) {
        out.insert("description".into(), description.clone());
    }
    let schema = function
        .get("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    out.insert("input_schema".into(), schema);
    if let Some(cache) = tool.get("cache_control") {
        out.insert("cache_control".into(), cache.clone());
    }
    Ok(Value::Object(out))
}

fn translate_tool_choice(choice: &Value) -> Result<Value, InvalidRequest> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(json!({"type": "auto"})),
            "required" => Ok(json!({"type": "any"})),
            "none" => Ok(json!({"type": "none"})),
            other => Err(invalid_request(
                &format!("unknown tool_choice `{other}`"),
                Some("tool_choice"),
            )),
        },
        Value::Object(_) => {
            let name = choice
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid_request("tool_choice needs `function.name`", Some("tool_choice"))
                })?;
            Ok(json!({"type": "tool", "name": name}))
        }
        _ => Err(invalid_request(
            "tool_choice must be a string or an object",
            Some("tool_choice"),
        )),
    }
}

/// Splits out system messages and turns the rest into Anthropic turns;
/// consecutive turns of the same Anthropic role are merged (tool results are
/// user turns), since the API expects alternating roles.
fn translate_messages(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>), InvalidRequest> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        let (role, blocks) = match role {
            "system" | "developer" => {
                system.extend(text_blocks(content)?);
                continue;
            }
            "user" => ("user", user_blocks(content)?),
            "assistant" => ("assistant", assistant_blocks(message)?),
            "tool" => ("user", vec![tool_result(message)?]),
            other => {
                return Err(invalid_request(
                    &format!("anthropic: unsupported message role `{other}`"),
                    Some("messages"),
                ));
            }
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok((system, messages))
}

/// Text content (a string or text parts) as Anthropic text blocks; empty
/// strings are skipped because Anthropic rejects empty text blocks.
fn text_blocks(content: &Value) -> Result<Vec<Value>, InvalidRequest> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({"type": "text", "text": s})]),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p.get("text").and_then(Value::as_str) != Some(""))
            .map(|part| match part.get("type").and_then(Value::as_str) {
                Some("text") => Ok(text_block(part)),
                _ => Err(invalid_request(
                    "anthropic: only text parts are allowed here",
                    Some("messages"),
                )),
            })
            .collect(),
        _ => Err(invalid_request(
            "message content must be a string or an array of parts",
            Some("messages"),
        )),
    }
}

fn text_block(part: &Value) -> Value {
    let mut block =
        json!({"type": "text", "text": part.get("text").cloned().unwrap_or(Value::Null)});
    if let Some(cache) = part.get("cache_control") {
        block["cache_control"] = cache.clone();
    }
    block
}

fn user_blocks(content: &Value) -> Result<Vec<Value>, InvalidRequest> {
    let Value::Array(parts) = content else {
        return text_blocks(content);
    };
    parts
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("text") => Ok(text_block(part)),
            Some("image_url") => image_block(part),
            other => Err(invalid_request(
                &format!(
                    "anthropic: content parts of type `{}` are not supported",
                    other.unwrap_or("?")
                ),
                Some("messages"),
            )),
        })
        .collect()
}

fn image_block(part: &Value) -> Result<Value, InvalidRequest> {
    let image = part.get("image_url").unwrap_or(&Value::Null);
    let url = image
        .as_str()
        .or_else(|| image.get("url").and_then(Value::as_str))
        .ok_or_else(|| invalid_request("image_url needs a `url`", Some("messages")))?;
    let source = match url.strip_prefix("data:") {
        Some(rest) => {
            let (media_type, data) = rest.split_once(";base64,").ok_or_else(|| {
                invalid_request(
                    "image data URLs must be `data:<media type>;base64,<data>`",
                    Some("messages"),
                )
            })?;
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
        None => json!({"type": "url", "url": url}),
    };
    Ok(json!({"type": "image", "source": source}))
}

fn assistant_blocks(message: &Value) -> Result<Vec<Value>, InvalidRequest> {
    // Thinking blocks a previous answer returned (LiteLLM's `thinking_blocks`)
    // go back first and unchanged: Anthropic checks their signatures when
    // extended thinking is combined with tool use.
    let mut blocks: Vec<Value> = match message.get("thinking_blocks") {
        Some(Value::Array(thinking)) => thinking
            .iter()
            .filter(|b| {
                matches!(
                    b.get("type").and_then(Value::as_str),
                    Some("thinking" | "redacted_thinking")
                )
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    blocks.extend(text_blocks(message.get("content").unwrap_or(&Value::Null))?);
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for call in calls {
            let function = call.get("function").unwrap_or(&Value::Null);
            let arguments = function
                .get("arguments")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // An empty argument string is a call without arguments.
            let input = if arguments.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str::<Value>(arguments).map_err(|_| {
                    invalid_request(
                        "assistant tool_calls[].function.arguments must be a JSON object",
                        Some("messages"),
                    )
                })?
            };
            blocks.push(json!({
                "type": "tool_use",
                "id": call.get("id").cloned().unwrap_or(Value::Null),
                "name": function.get("name").cloned().unwrap_or(Value::Null),
                "input": input,
            }));
        }
    }
    Ok(blocks)
}

fn tool_result(message: &Value) -> Result<Value, InvalidRequest> {
    let id = message
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_request("tool messages need `tool_call_id`", Some("messages")))?;
    let content = match message.get("content").unwrap_or(&Value::Null) {
        Value::String(s) => Value::String(s.clone()),
        other => Value::Array(text_blocks(other)?),
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: Value, drop_params: bool) -> Result<(Value, RequestMeta), InvalidRequest> {
        let Value::Object(body) = body else {
            panic!("object")
        };
        translate(&body, drop_params).map(|(b, m)| (Value::Object(b), m))
    }

    #[test]
    fn golden_full_conversation() {
        let (out, meta) = run(
            json!({
                "model": "claude-3-5-sonnet-20241022",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in these?"},
                        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}
                    ]},
                    {"role": "assistant", "content": null, "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}], "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "rain"},
                    {"role": "user", "content": "thanks"}
                ],
                "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                "tool_choice": "required",
                "stop": "END",
                "temperature": 0.2,
                "top_p": 0.9,
                "user": "u-1",
                "stream_options": {"include_usage": true}
            }),
            false,
        )
        .expect("translates");
        assert!(!meta.json_mode);
        assert_eq!(
            out,
            json!({
                "model": "claude-3-5-sonnet-20241022",
                "system": [{"type": "text", "text": "Be brief."}],
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in these?"},
                        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                        {"type": "tool_result", "tool_use_id": "call_2", "content": "rain"},
                        {"type": "text", "text": "thanks"}
                    ]}
                ],
                "max_tokens": 8192,
                "stop_sequences": ["END"],
                "temperature": 0.2,
                "top_p": 0.9,
                "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
                "tool_choice": {"type": "any"},
                "metadata": {"user_id": "u-1"}
            })
        );
    }

    #[test]
    fn golden_json_schema_becomes_forced_tool() {
        let (out, meta) = run(
            json!({
                "model": "claude-x",
                "max_completion_tokens": 100,
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}
            }),
            false,
        )
        .expect("translates");
        assert!(meta.json_mode);
        assert_eq!(
            out,
            json!({
                "model": "claude-x",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                "max_tokens": 100,
                "tools": [{"name": "json_tool_call", "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}],
                "tool_choice": {"type": "tool", "name": "json_tool_call"}
            })
        );
        let (out, _) = run(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}, "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": false}),
            false,
        )
        .expect("translates");
        assert_eq!(
            out["tools"],
            json!([{"name": "json_tool_call", "input_schema": {"type": "object", "additionalProperties": true, "properties": {}}}])
        );
        assert_eq!(
            out["tool_choice"],
            json!({"type": "tool", "name": "json_tool_call"})
        );
        assert_eq!(out["max_tokens"], json!(4096));
    }

    #[test]
    fn tool_choice_mapping() {
        for (openai, anthropic) in [
            (json!("auto"), json!({"type": "auto"})),
            (json!("none"), json!({"type": "none"})),
            (json!("required"), json!({"type": "any"})),
            (
                json!({"type": "function", "function": {"name": "f"}}),
                json!({"type": "tool", "name": "f"}),
            ),
        ] {
            assert_eq!(translate_tool_choice(&openai).expect("maps"), anthropic);
        }
        let (out, _) = run(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "parallel_tool_calls": false}),
            false,
        )
        .expect("translates");
        assert_eq!(
            out["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
    }

    #[test]
    fn unsupported_params_fail_or_drop() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 7, "n": 1});
        let error =
            crate::providers::ProviderError::from(run(body.clone(), false).expect_err("refused"));
        assert_eq!(error.status, http::StatusCode::BAD_REQUEST);
        assert_eq!(error.param.as_deref(), Some("seed"));
        assert_eq!(error.kind, "invalid_request_error");
        let (out, _) = run(body, true).expect("dropped");
        assert!(out.get("seed").is_none());
        assert!(out.get("n").is_none());
        let error = crate::providers::ProviderError::from(
            run(
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}),
                false,
            )
            .expect_err("refused"),
        );
        assert_eq!(error.param.as_deref(), Some("n"));
    }

    #[test]
    fn max_tokens_defaults_by_model_family() {
        assert_eq!(default_max_tokens("claude-3-7-sonnet-20250219"), 64_000);
        assert_eq!(default_max_tokens("claude-opus-4-1-20250805"), 32_000);
        assert_eq!(default_max_tokens("claude-3-haiku-20240307"), 4096);
        assert_eq!(default_max_tokens("mock-model"), 4096);
    }

    #[test]
    fn bad_tool_arguments_are_a_client_error() {
        let error = crate::providers::ProviderError::from(run(
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}]}),
            false,
        ).expect_err("refused"));
        assert_eq!(error.status, http::StatusCode::BAD_REQUEST);
    }
}
