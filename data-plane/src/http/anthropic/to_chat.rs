//! A Messages request → an OpenAI chat request, for deployments that do not
//! speak Anthropic's API (LiteLLM's `/v1/messages` adapter does the same):
//! the system prompt becomes a system message, tool results become `tool`
//! messages, images become `image_url` parts, Anthropic's tools and
//! `tool_choice` OpenAI's.

use super::error::AnthropicError;
use serde_json::{Map, Value, json};

/// Fields of a Messages body the translation reads; every other field
/// that is not Anthropic's own (LiteLLM's per-request settings such as
/// `num_retries`, `fallbacks`, `mock_response`) is copied so the router
/// and the deployment see it as on the chat route.
const ANTHROPIC_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

fn unsupported(message: String) -> AnthropicError {
    AnthropicError::invalid_request(message)
}

pub fn translate(body: &Map<String, Value>) -> Result<Map<String, Value>, AnthropicError> {
    let mut out = Map::new();
    out.insert(
        "model".into(),
        body.get("model").cloned().unwrap_or(Value::Null),
    );
    let mut messages = Vec::new();
    if let Some(system) = system_message(body.get("system")) {
        messages.push(system);
    }
    if let Some(Value::Array(turns)) = body.get("messages") {
        for turn in turns {
            translate_turn(turn, &mut messages)?;
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    if let Some(max) = body.get("max_tokens") {
        out.insert("max_tokens".into(), max.clone());
    }
    for field in ["temperature", "top_p"] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            out.insert(field.into(), v.clone());
        }
    }
    if let Some(Value::Array(stop)) = body.get("stop_sequences")
        && !stop.is_empty()
    {
        out.insert("stop".into(), Value::Array(stop.clone()));
    }
    if body.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream".into(), Value::Bool(true));
    }
    let tools = match body.get("tools") {
        Some(Value::Array(tools)) if !tools.is_empty() => {
            let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
            out.insert("tools".into(), Value::Array(tools));
            true
        }
        _ => false,
    };
    if let Some(choice) = body.get("tool_choice").filter(|c| !c.is_null()) {
        let (choice, parallel) = tool_choice(choice);
        if tools {
            out.insert("tool_choice".into(), choice);
            if parallel == Some(false) {
                out.insert("parallel_tool_calls".into(), Value::Bool(false));
            }
        }
    }
    if let Some(user) = body
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        out.insert("user".into(), Value::String(user.to_string()));
    }
    if let Some(budget) = body
        .get("thinking")
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("enabled"))
        .map(|t| t.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0))
    {
        // LiteLLM's mapping of a thinking budget onto OpenAI's effort levels.
        let effort = match budget {
            0..2048 => "low",
            2048..8192 => "medium",
            _ => "high",
        };
        out.insert("reasoning_effort".into(), Value::String(effort.into()));
    }
    for (key, value) in body {
        if !ANTHROPIC_FIELDS.contains(&key.as_str()) {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(out)
}

/// The system prompt as one system message: a string, or text parts when a
/// block carries `cache_control` (kept for providers that cache).
fn system_message(system: Option<&Value>) -> Option<Value> {
    match system? {
        Value::String(s) if !s.is_empty() => Some(json!({"role": "system", "content": s})),
        Value::Array(blocks) if !blocks.is_empty() => {
            if blocks.iter().any(|b| b.get("cache_control").is_some()) {
                let parts: Vec<Value> = blocks.iter().map(text_part).collect();
                Some(json!({"role": "system", "content": parts}))
            } else {
                let text: Vec<&str> = blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect();
                Some(json!({"role": "system", "content": text.join("\n")}))
            }
        }
        _ => None,
    }
}

fn text_part(block: &Value) -> Value {
    let mut part = json!({"type": "text", "text": block.get("text").cloned().unwrap_or_default()});
    if let Some(cache) = block.get("cache_control") {
        part["cache_control"] = cache.clone();
    }
    part
}

fn translate_turn(turn: &Value, out: &mut Vec<Value>) -> Result<(), AnthropicError> {
    let role = turn.get("role").and_then(Value::as_str).unwrap_or("user");
    let blocks = match turn.get("content") {
        Some(Value::String(text)) => {
            out.push(json!({"role": role, "content": text}));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => return Ok(()),
    };
    if role == "assistant" {
        out.push(assistant_message(blocks));
        return Ok(());
    }
    // Tool results answer the previous assistant turn, so they come first
    // (OpenAI requires `tool` messages right after the tool calls).
    let mut parts = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "tool_result" => out.push(tool_message(block)),
            "text" => parts.push(text_part(block)),
            "image" => parts.push(image_part(block)?),
            "document" => parts.push(document_part(block)?),
            other => {
                return Err(unsupported(format!(
                    "content blocks of type `{other}` cannot be sent to this model's provider"
                )));
            }
        }
    }
    if !parts.is_empty() {
        let simple = parts.len() == 1
            && parts[0].get("type").and_then(Value::as_str) == Some("text")
            && parts[0].get("cache_control").is_none();
        let content = if simple {
            parts[0].get("text").cloned().unwrap_or_default()
        } else {
            Value::Array(parts)
        };
        out.push(json!({"role": "user", "content": content}));
    }
    Ok(())
}

fn assistant_message(blocks: &[Value]) -> Value {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            "tool_use" => tool_calls.push(json!({
                "id": block.get("id").cloned().unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": block.get("name").cloned().unwrap_or_default(),
                    "arguments": block.get("input").map_or_else(|| "{}".to_string(), Value::to_string),
                },
            })),
            // Thinking blocks are Anthropic's own: other providers neither
            // accept nor verify them, so they are not sent back.
            _ => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), Value::String("assistant".into()));
    message.insert(
        "content".into(),
        if text.is_empty() && !tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        },
    );
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    Value::Object(message)
}

/// A `tool_result` block as an OpenAI `tool` message; its content (a
/// string or text blocks) as text, `is_error` said in words.
fn tool_message(block: &Value) -> Value {
    let mut content = match block.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    if block.get("is_error") == Some(&Value::Bool(true)) {
        content = format!("Error: {content}");
    }
    json!({
        "role": "tool",
        "tool_call_id": block.get("tool_use_id").cloned().unwrap_or_default(),
        "content": content,
    })
}

fn image_part(block: &Value) -> Result<Value, AnthropicError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => format!(
            "data:{};base64,{}",
            source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png"),
            source.get("data").and_then(Value::as_str).unwrap_or("")
        ),
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => {
            return Err(unsupported(
                "image sources must be `base64` or `url` for this model's provider".into(),
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

fn document_part(block: &Value) -> Result<Value, AnthropicError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(json!({"type": "file", "file": {"file_data": format!(
            "data:{};base64,{}",
            source.get("media_type").and_then(Value::as_str).unwrap_or("application/pdf"),
            source.get("data").and_then(Value::as_str).unwrap_or("")
        )}})),
        Some("text") => {
            Ok(json!({"type": "text", "text": source.get("data").cloned().unwrap_or_default()}))
        }
        _ => Err(unsupported(
            "documents must be `base64` or `text` sources for this model's provider".into(),
        )),
    }
}

fn tool(tool: &Value) -> Result<Value, AnthropicError> {
    if let Some(kind) = tool.get("type").and_then(Value::as_str)
        && kind != "custom"
    {
        return Err(unsupported(format!(
            "the server tool `{kind}` is Anthropic's own: this model's provider cannot run it"
        )));
    }
    let mut function = Map::new();
    function.insert("name".into(), tool.get("name").cloned().unwrap_or_default());
    if let Some(description) = tool.get("description").filter(|d| d.is_string()) {
        function.insert("description".into(), description.clone());
    }
    function.insert(
        "parameters".into(),
        tool.get("input_schema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    );
    Ok(json!({"type": "function", "function": function}))
}

/// Anthropic's `tool_choice` → OpenAI's, and `disable_parallel_tool_use`
/// as `parallel_tool_calls`.
fn tool_choice(choice: &Value) -> (Value, Option<bool>) {
    let parallel = choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        .map(|disabled| !disabled);
    let openai = match choice.get("type").and_then(Value::as_str) {
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => {
            json!({"type": "function", "function": {"name": choice.get("name").cloned().unwrap_or_default()}})
        }
        _ => json!("auto"),
    };
    (openai, parallel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: Value) -> Value {
        let Value::Object(body) = body else {
            panic!("object")
        };
        Value::Object(translate(&body).expect("translates"))
    }

    #[test]
    fn golden_conversation_with_tools_images_and_results() {
        let out = run(json!({
            "model": "gpt-4o-mini",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Be kind."}],
            "stop_sequences": ["END"],
            "temperature": 0.3,
            "metadata": {"user_id": "u-7"},
            "num_retries": 2,
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "thinking": {"type": "enabled", "budget_tokens": 4000},
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
                    {"type": "text", "text": "thanks"}
                ]}
            ]
        }));
        assert_eq!(
            out,
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Be terse.\nBe kind."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
                    ]},
                    {"role": "assistant", "content": "Checking.", "tool_calls": [
                        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
                    {"role": "user", "content": "thanks"}
                ],
                "max_tokens": 100,
                "temperature": 0.3,
                "stop": ["END"],
                "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                "tool_choice": "required",
                "parallel_tool_calls": false,
                "user": "u-7",
                "reasoning_effort": "medium",
                "num_retries": 2
            })
        );
    }

    #[test]
    fn tool_choices_map() {
        for (anthropic, openai) in [
            (json!({"type": "auto"}), json!("auto")),
            (json!({"type": "none"}), json!("none")),
            (json!({"type": "any"}), json!("required")),
            (
                json!({"type": "tool", "name": "f"}),
                json!({"type": "function", "function": {"name": "f"}}),
            ),
        ] {
            assert_eq!(tool_choice(&anthropic).0, openai);
        }
    }

    #[test]
    fn server_tools_are_refused_for_other_providers() {
        let Value::Object(body) = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}]})
        else {
            panic!()
        };
        let e = translate(&body).expect_err("refused");
        assert!(e.message.contains("web_search_20250305"), "{}", e.message);
    }
}
