//! A Responses API request as an OpenAI chat request, for deployments that
//! only speak chat (LiteLLM's bridge): `instructions` → a system message,
//! input items → messages (`function_call` → an assistant `tool_calls`
//! entry, `function_call_output` → a `tool` message), function tools →
//! chat tools, `max_output_tokens` → `max_tokens`, `reasoning.effort` →
//! `reasoning_effort`, `text.format` → `response_format`.

use serde_json::{Map, Value, json};

/// Why a request cannot be bridged: the message and the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbridgeable {
    pub message: String,
    pub param: String,
}

fn refuse(param: impl Into<String>, message: impl Into<String>) -> Unbridgeable {
    Unbridgeable {
        message: message.into(),
        param: param.into(),
    }
}

/// `input` as a list of items: a string is one user message.
pub fn input_items(input: &Value) -> Result<Vec<Value>, Unbridgeable> {
    match input {
        Value::String(text) => Ok(vec![
            json!({"type": "message", "role": "user", "content": text}),
        ]),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(refuse(
                        format!("input[{i}]"),
                        format!("input[{i}] must be an object (an input item)."),
                    ));
                }
            }
            Ok(items.clone())
        }
        _ => Err(refuse(
            "input",
            "`input` must be a string or an array of input items.",
        )),
    }
}

/// Request keys copied to chat as they are.
const SAME_NAME: [&str; 6] = [
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "user",
    "stream",
    "metadata",
];

/// LiteLLM's own request keys (routing overrides), kept for the router,
/// which reads them and strips them before any provider call.
const LITELLM_KEYS: [&str; 5] = [
    "fallbacks",
    "num_retries",
    "disable_fallbacks",
    "mock_testing_fallbacks",
    "tags",
];

/// The chat body for `body` whose full input (history first) is `items`.
pub fn to_chat(
    body: &Map<String, Value>,
    items: &[Value],
) -> Result<Map<String, Value>, Unbridgeable> {
    let mut chat = Map::new();
    if let Some(model) = body.get("model") {
        chat.insert("model".into(), model.clone());
    }
    let mut messages = Vec::new();
    match body.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => messages.push(json!({"role": "system", "content": text})),
        Some(_) => return Err(refuse("instructions", "`instructions` must be a string.")),
    }
    for (i, item) in items.iter().enumerate() {
        push_item(&mut messages, item, i)?;
    }
    if messages.is_empty() {
        return Err(refuse("input", "`input` has no messages to send."));
    }
    chat.insert("messages".into(), Value::Array(messages));
    for key in SAME_NAME.iter().chain(&LITELLM_KEYS) {
        if let Some(v) = body.get(*key).filter(|v| !v.is_null()) {
            chat.insert((*key).into(), v.clone());
        }
    }
    if let Some(n) = body.get("max_output_tokens").filter(|v| !v.is_null()) {
        chat.insert("max_tokens".into(), n.clone());
    }
    if let Some(effort) = body
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|v| !v.is_null())
    {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(format) = body.get("text").and_then(|t| t.get("format"))
        && let Some(rf) = response_format(format)?
    {
        chat.insert("response_format".into(), rf);
    }
    if let Some(tools) = body.get("tools").filter(|v| !v.is_null()) {
        let tools = chat_tools(tools)?;
        if !tools.is_empty() {
            chat.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = body.get("tool_choice").filter(|v| !v.is_null()) {
        chat.insert("tool_choice".into(), tool_choice(choice)?);
    }
    Ok(chat)
}

fn push_item(messages: &mut Vec<Value>, item: &Value, i: usize) -> Result<(), Unbridgeable> {
    let kind = item.get("type").and_then(Value::as_str);
    let role = item.get("role").and_then(Value::as_str);
    match (kind, role) {
        (Some("message") | None, Some(role)) => {
            let role = match role {
                "user" | "assistant" | "system" => role,
                "developer" => "system",
                other => {
                    return Err(refuse(
                        format!("input[{i}].role"),
                        format!(
                            "input[{i}].role `{other}` is not one of user, assistant, system, developer."
                        ),
                    ));
                }
            };
            let content = content(item.get("content"), role == "assistant", i)?;
            messages.push(json!({"role": role, "content": content}));
            Ok(())
        }
        (Some("function_call"), _) => {
            let field = |name: &str| item.get(name).and_then(Value::as_str);
            let (Some(call_id), Some(name)) = (field("call_id"), field("name")) else {
                return Err(refuse(
                    format!("input[{i}]"),
                    format!("input[{i}] (a function_call) needs `call_id` and `name`."),
                ));
            };
            let call = json!({
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": field("arguments").unwrap_or("{}")},
            });
            // Consecutive calls (and the text before them) are one
            // assistant turn in chat.
            if let Some(last) = messages.last_mut().and_then(Value::as_object_mut)
                && last.get("role").and_then(Value::as_str) == Some("assistant")
            {
                match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                    Some(calls) => calls.push(call),
                    None => {
                        last.insert("tool_calls".into(), Value::Array(vec![call]));
                    }
                }
                return Ok(());
            }
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
            Ok(())
        }
        (Some("function_call_output"), _) => {
            let Some(call_id) = item.get("call_id").and_then(Value::as_str) else {
                return Err(refuse(
                    format!("input[{i}].call_id"),
                    format!("input[{i}] (a function_call_output) needs `call_id`."),
                ));
            };
            let output = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(""),
                _ => {
                    return Err(refuse(
                        format!("input[{i}].output"),
                        format!("input[{i}].output must be a string."),
                    ));
                }
            };
            messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": output}));
            Ok(())
        }
        // Reasoning is the model's own; chat providers take none back.
        (Some("reasoning"), _) => Ok(()),
        (Some(other), _) => Err(refuse(
            format!("input[{i}].type"),
            format!(
                "input[{i}] is a `{other}` item, which a model served over chat cannot take (message, function_call, function_call_output and reasoning items can be bridged)."
            ),
        )),
        (None, None) => Err(refuse(
            format!("input[{i}]"),
            format!("input[{i}] needs a `type` or a `role`."),
        )),
    }
}

/// A message's content for chat: text as is, parts translated; an
/// assistant's parts joined into its text (what every chat provider takes).
fn content(content: Option<&Value>, assistant: bool, i: usize) -> Result<Value, Unbridgeable> {
    let parts = match content {
        Some(Value::String(text)) => return Ok(Value::String(text.clone())),
        Some(Value::Array(parts)) => parts,
        _ => {
            return Err(refuse(
                format!("input[{i}].content"),
                format!("input[{i}].content must be a string or an array of content parts."),
            ));
        }
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let text = part.get("text").and_then(Value::as_str);
        match (part.get("type").and_then(Value::as_str), text) {
            (Some("input_text" | "output_text" | "text"), Some(text)) => {
                out.push(json!({"type": "text", "text": text}));
            }
            (Some("refusal"), _) => {
                let refusal = part.get("refusal").and_then(Value::as_str).unwrap_or("");
                out.push(json!({"type": "text", "text": refusal}));
            }
            (Some("input_image"), _) => {
                let Some(url) = part.get("image_url").and_then(Value::as_str) else {
                    return Err(refuse(
                        format!("input[{i}].content[{j}].image_url"),
                        format!(
                            "input[{i}].content[{j}]: a model served over chat takes images by `image_url` (a URL or a data URL), not by `file_id`."
                        ),
                    ));
                };
                let mut image = json!({"url": url});
                if let Some(detail) = part.get("detail").filter(|d| d.is_string()) {
                    image["detail"] = detail.clone();
                }
                out.push(json!({"type": "image_url", "image_url": image}));
            }
            (Some(kind), _) => {
                return Err(refuse(
                    format!("input[{i}].content[{j}].type"),
                    format!(
                        "input[{i}].content[{j}] is `{kind}`, which a model served over chat cannot take (input_text, output_text and input_image can be bridged)."
                    ),
                ));
            }
            (None, _) => {
                return Err(refuse(
                    format!("input[{i}].content[{j}].type"),
                    format!("input[{i}].content[{j}] needs a `type`."),
                ));
            }
        }
    }
    if assistant {
        let text: String = out
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        return Ok(Value::String(text));
    }
    Ok(Value::Array(out))
}

fn chat_tools(tools: &Value) -> Result<Vec<Value>, Unbridgeable> {
    let Some(tools) = tools.as_array() else {
        return Err(refuse("tools", "`tools` must be an array."));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str);
        if kind != Some("function") {
            return Err(refuse(
                format!("tools[{i}].type"),
                format!(
                    "tools[{i}] is `{}`: a model served over chat takes function tools only.",
                    kind.unwrap_or("untyped")
                ),
            ));
        }
        let Some(name) = tool.get("name").and_then(Value::as_str) else {
            return Err(refuse(
                format!("tools[{i}].name"),
                format!("tools[{i}] needs a `name`."),
            ));
        };
        let mut function = Map::new();
        function.insert("name".into(), Value::String(name.into()));
        for key in ["description", "parameters", "strict"] {
            if let Some(v) = tool.get(key).filter(|v| !v.is_null()) {
                function.insert(key.into(), v.clone());
            }
        }
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

fn tool_choice(choice: &Value) -> Result<Value, Unbridgeable> {
    match choice {
        Value::String(s) if ["auto", "none", "required"].contains(&s.as_str()) => {
            Ok(choice.clone())
        }
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            match o.get("name").and_then(Value::as_str) {
                Some(name) => Ok(json!({"type": "function", "function": {"name": name}})),
                None => Err(refuse(
                    "tool_choice.name",
                    "`tool_choice` of type function needs a `name`.",
                )),
            }
        }
        _ => Err(refuse(
            "tool_choice",
            "`tool_choice` must be auto, none, required or {\"type\": \"function\", \"name\": …} for a model served over chat.",
        )),
    }
}

fn response_format(format: &Value) -> Result<Option<Value>, Unbridgeable> {
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        Some(other) => Err(refuse(
            "text.format.type",
            format!("text.format `{other}` is not one of text, json_object, json_schema."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Result<Map<String, Value>, Unbridgeable> {
        let body = body.as_object().cloned().expect("object");
        let items = input_items(body.get("input").expect("input"))?;
        to_chat(&body, &items)
    }

    #[test]
    fn text_input_instructions_and_limits_become_chat() {
        let c = chat(json!({
            "model": "m", "input": "hi", "instructions": "be brief", "max_output_tokens": 20,
            "reasoning": {"effort": "low"}, "temperature": 0.2, "store": true,
            "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
        }))
        .expect("bridged");
        assert_eq!(
            Value::Object(c),
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "temperature": 0.2, "max_tokens": 20, "reasoning_effort": "low",
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            })
        );
    }

    #[test]
    fn function_calls_and_outputs_become_tool_turns() {
        let c = chat(json!({
            "model": "m",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
                {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            ],
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "get_weather"},
        }))
        .expect("bridged");
        assert_eq!(
            c["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            ])
        );
        assert_eq!(
            c["tools"],
            json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])
        );
        assert_eq!(
            c["tool_choice"],
            json!({"type": "function", "function": {"name": "get_weather"}})
        );
    }

    #[test]
    fn what_chat_cannot_carry_is_refused_naming_the_field() {
        for (body, param) in [
            (json!({"model": "m", "input": 3}), "input"),
            (json!({"model": "m", "input": [1]}), "input[0]"),
            (
                json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
                "input[0].type",
            ),
            (
                json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
                "input[0].role",
            ),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
                "input[0].content[0].type",
            ),
            (
                json!({"model": "m", "input": "x", "tool_choice": 3}),
                "tool_choice",
            ),
        ] {
            let e = chat(body.clone()).expect_err("refused");
            assert_eq!(e.param, param, "{body}");
        }
    }
}
