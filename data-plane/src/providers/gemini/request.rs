//! OpenAI chat request → Gemini `GenerateContentRequest`.
//!
//! Field names follow Google's REST reference (camelCase) and LiteLLM's
//! `vertex_and_google_ai_studio_gemini` transformation: system messages become
//! `systemInstruction`, assistant turns `model` turns, tool results
//! `functionResponse` parts of a `user` turn, consecutive turns of the same
//! role are merged (Gemini rejects two `user` turns in a row).

use super::response::THOUGHT_SIGNATURE_SEPARATOR;
use super::schema::clean_schema;
use crate::providers::error::ProviderError;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const PROVIDER: &str = "gemini";

/// Parameters consumed elsewhere or meaningless to Gemini that LiteLLM
/// silently ignores as well (`user` is for the gateway's accounting).
const IGNORED: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "user",
    "parallel_tool_calls",
];

/// A request Gemini cannot express: 400 naming the parameter.
pub fn invalid(param: &str, message: String) -> ProviderError {
    ProviderError::invalid_request(format!("{PROVIDER}: {message}"), Some(param))
}

fn unsupported(param: &str) -> ProviderError {
    invalid(
        param,
        format!(
            "parameter `{param}` is not supported by Gemini; set `drop_params: true` to drop it"
        ),
    )
}

/// Translates an OpenAI chat body into Gemini's request body.
pub fn translate(body: &Map<String, Value>, drop_params: bool) -> Result<Value, ProviderError> {
    let mut out = Map::new();
    let mut generation = Map::new();
    for (key, value) in body {
        if value.is_null() || IGNORED.contains(&key.as_str()) {
            continue;
        }
        match key.as_str() {
            "temperature" => {
                generation.insert("temperature".into(), value.clone());
            }
            "top_p" => {
                generation.insert("topP".into(), value.clone());
            }
            "max_tokens" | "max_completion_tokens" => {
                generation.insert("maxOutputTokens".into(), value.clone());
            }
            "n" => {
                generation.insert("candidateCount".into(), value.clone());
            }
            "seed" => {
                generation.insert("seed".into(), value.clone());
            }
            "presence_penalty" => {
                generation.insert("presencePenalty".into(), value.clone());
            }
            "frequency_penalty" => {
                generation.insert("frequencyPenalty".into(), value.clone());
            }
            // Gemini's own parameters, accepted as LiteLLM does (in the
            // request or as `litellm_params` of the deployment).
            "top_k" => {
                generation.insert("topK".into(), value.clone());
            }
            "safety_settings" => {
                out.insert("safetySettings".into(), value.clone());
            }
            "cached_content" => {
                out.insert("cachedContent".into(), value.clone());
            }
            "logprobs" => {
                generation.insert("responseLogprobs".into(), value.clone());
            }
            "top_logprobs" => {
                generation.insert("logprobs".into(), value.clone());
            }
            "stop" => {
                let stops = match value {
                    Value::String(s) => vec![Value::String(s.clone())],
                    Value::Array(a) => a.clone(),
                    _ => {
                        return Err(invalid(
                            "stop",
                            "`stop` must be a string or an array".into(),
                        ));
                    }
                };
                generation.insert("stopSequences".into(), Value::Array(stops));
            }
            "response_format" => response_format(value, &mut generation)?,
            "reasoning_effort" => {
                generation.insert("thinkingConfig".into(), thinking(value)?);
            }
            "tools" => {
                out.insert("tools".into(), tools(value)?);
            }
            "tool_choice" => {
                out.insert("toolConfig".into(), tool_choice(value)?);
            }
            other if drop_params => {
                tracing::debug!(param = other, "gemini: dropping unsupported parameter");
            }
            other => return Err(unsupported(other)),
        }
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages", "`messages` must be an array".into()))?;
    let (system, contents) = contents(messages)?;
    out.insert("contents".into(), Value::Array(contents));
    if let Some(system) = system {
        out.insert("systemInstruction".into(), system);
    }
    if !generation.is_empty() {
        out.insert("generationConfig".into(), Value::Object(generation));
    }
    Ok(Value::Object(out))
}

fn response_format(
    value: &Value,
    generation: &mut Map<String, Value>,
) -> Result<(), ProviderError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            generation.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            generation.insert("responseMimeType".into(), json!("application/json"));
            if let Some(schema) = value.pointer("/json_schema/schema") {
                generation.insert("responseSchema".into(), clean_schema(schema));
            }
        }
        _ => {
            return Err(invalid(
                "response_format",
                "`response_format.type` must be text, json_object or json_schema".into(),
            ));
        }
    }
    Ok(())
}

/// `reasoning_effort` → `thinkingConfig`, with LiteLLM's budgets.
fn thinking(value: &Value) -> Result<Value, ProviderError> {
    let budget = match value.as_str() {
        Some("none" | "disable") => return Ok(json!({"thinkingBudget": 0})),
        Some("minimal" | "low") => 1024,
        Some("medium") => 2048,
        Some("high") => 4096,
        _ => {
            return Err(invalid(
                "reasoning_effort",
                "`reasoning_effort` must be none, minimal, low, medium or high".into(),
            ));
        }
    };
    Ok(json!({"thinkingBudget": budget, "includeThoughts": true}))
}

fn tools(value: &Value) -> Result<Value, ProviderError> {
    let list = value
        .as_array()
        .ok_or_else(|| invalid("tools", "`tools` must be an array".into()))?;
    let mut declarations = Vec::with_capacity(list.len());
    for tool in list {
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            return Err(invalid(
                "tools",
                "only `function` tools are supported".into(),
            ));
        }
        let function = tool
            .get("function")
            .ok_or_else(|| invalid("tools", "a tool lacks `function`".into()))?;
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("tools", "a tool function lacks `name`".into()))?;
        let mut declaration = Map::new();
        declaration.insert("name".into(), json!(name));
        if let Some(description) = function.get("description").filter(|d| !d.is_null()) {
            declaration.insert("description".into(), description.clone());
        }
        // Gemini rejects an OBJECT schema without properties: a function
        // without arguments is declared without `parameters` (as LiteLLM does).
        if let Some(parameters) = function.get("parameters").filter(|p| {
            p.get("properties")
                .and_then(Value::as_object)
                .is_some_and(|props| !props.is_empty())
        }) {
            declaration.insert("parameters".into(), clean_schema(parameters));
        }
        declarations.push(Value::Object(declaration));
    }
    Ok(json!([{"functionDeclarations": declarations}]))
}

fn tool_choice(value: &Value) -> Result<Value, ProviderError> {
    let config = match value {
        Value::String(s) => match s.as_str() {
            "auto" => json!({"mode": "AUTO"}),
            "none" => json!({"mode": "NONE"}),
            "required" => json!({"mode": "ANY"}),
            _ => {
                return Err(invalid(
                    "tool_choice",
                    "`tool_choice` must be auto, none, required or a function".into(),
                ));
            }
        },
        Value::Object(_) => {
            let name = value
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid("tool_choice", "`tool_choice.function.name` missing".into())
                })?;
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
        _ => {
            return Err(invalid(
                "tool_choice",
                "`tool_choice` has an invalid type".into(),
            ));
        }
    };
    Ok(json!({"functionCallingConfig": config}))
}

/// `systemInstruction` (if any system message) and `contents`.
fn contents(messages: &[Value]) -> Result<(Option<Value>, Vec<Value>), ProviderError> {
    let mut system_parts = Vec::new();
    let mut contents: Vec<(String, Vec<Value>)> = Vec::new();
    // Tool results name their call by id only; Gemini wants the function's
    // name, taken from the assistant turn that made the call.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for message in messages {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let content = message.get("content").unwrap_or(&Value::Null);
        let (gemini_role, parts) = match role {
            "system" | "developer" => {
                system_parts.extend(parts(content)?);
                continue;
            }
            "user" => ("user", parts(content)?),
            "assistant" => {
                let mut parts = parts(content)?;
                if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
                    for call in calls {
                        parts.push(function_call(call, &mut call_names)?);
                    }
                }
                ("model", parts)
            }
            "tool" | "function" => (
                "user",
                vec![function_response(message, content, &call_names)],
            ),
            other => {
                return Err(invalid(
                    "messages",
                    format!("message role `{other}` is not supported"),
                ));
            }
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some((last, existing)) if last == gemini_role => existing.extend(parts),
            _ => contents.push((gemini_role.to_string(), parts)),
        }
    }
    let system = (!system_parts.is_empty()).then(|| json!({"parts": system_parts}));
    let contents = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    Ok((system, contents))
}

fn function_call(
    call: &Value,
    names: &mut HashMap<String, String>,
) -> Result<Value, ProviderError> {
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
    let mut part = json!({"functionCall": {"name": name, "args": arguments}});
    if let Some((_, signature)) = call
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.split_once(THOUGHT_SIGNATURE_SEPARATOR))
    {
        part["thoughtSignature"] = json!(signature);
    }
    Ok(part)
}

fn function_response(message: &Value, content: &Value, names: &HashMap<String, String>) -> Value {
    let name = message
        .get("tool_call_id")
        .and_then(Value::as_str)
        .and_then(|id| names.get(id))
        .map(String::as_str)
        .or_else(|| message.get("name").and_then(Value::as_str))
        .unwrap_or_default();
    let text = match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    json!({"functionResponse": {"name": name, "response": {"content": text}}})
}

/// OpenAI message content → Gemini parts.
fn parts(content: &Value) -> Result<Vec<Value>, ProviderError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({"text": s})]),
        Value::Array(items) => items.iter().map(part).collect(),
        _ => Err(invalid(
            "messages",
            "message `content` must be a string or an array".into(),
        )),
    }
}

fn part(item: &Value) -> Result<Value, ProviderError> {
    match item.get("type").and_then(Value::as_str) {
        Some("text") => Ok(json!({"text": item.get("text").and_then(Value::as_str).unwrap_or("")})),
        Some("image_url") => {
            let url = item
                .get("image_url")
                .and_then(|i| i.get("url").or(Some(i)))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("messages", "an `image_url` part lacks `url`".into()))?;
            media(url)
        }
        Some("input_audio") => {
            let data = item
                .pointer("/input_audio/data")
                .and_then(Value::as_str)
                .unwrap_or("");
            let format = item
                .pointer("/input_audio/format")
                .and_then(Value::as_str)
                .unwrap_or("wav");
            Ok(json!({"inlineData": {"mimeType": format!("audio/{format}"), "data": data}}))
        }
        other => Err(invalid(
            "messages",
            format!(
                "content part type `{}` is not supported by Gemini",
                other.unwrap_or("?")
            ),
        )),
    }
}

/// A `data:` URL is sent inline; any other URL by reference (`fileData`),
/// its MIME type guessed from the extension as LiteLLM does.
fn media(url: &str) -> Result<Value, ProviderError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (header, data) = rest
            .split_once(',')
            .ok_or_else(|| invalid("messages", "malformed `data:` URL".into()))?;
        let mime = header
            .strip_suffix(";base64")
            .ok_or_else(|| invalid("messages", "only base64 `data:` URLs are supported".into()))?;
        return Ok(json!({"inlineData": {"mimeType": mime, "data": data}}));
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://")) {
        return Err(invalid(
            "messages",
            format!("unsupported image URL scheme in `{url}`"),
        ));
    }
    Ok(json!({"fileData": {"mimeType": mime_from_extension(url), "fileUri": url}}))
}

fn mime_from_extension(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        Some("pdf") => "application/pdf",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mp3",
        Some("wav") => "audio/wav",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    use crate::test_support::object as body;

    #[test]
    fn golden_full_request() {
        let request = body(json!({
            "model": "gemini-2.0-flash",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this image, and the weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?x=1"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_1__thought__c2ln", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
                {"role": "tool", "tool_call_id": "call_1__thought__c2ln", "content": "noon"}
            ],
            "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 100, "stop": "END",
            "n": 2, "seed": 7, "user": "u1",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": {
                "type": "object", "additionalProperties": false,
                "properties": {"a": {"type": ["string", "null"]}}, "required": ["a"]}}},
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "$schema": "http://json-schema.org/draft-07/schema#",
                    "properties": {"city": {"type": "string", "title": "City"}}, "required": ["city"]}}},
                {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
        }));
        let got = translate(&request, false).expect("translates");
        let want = json!({
            "systemInstruction": {"parts": [{"text": "Be terse."}]},
            "contents": [
                {"role": "user", "parts": [
                    {"text": "What is in this image, and the weather?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?x=1"}}
                ]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {}}, "thoughtSignature": "c2ln"}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}},
                    {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}}
                ]}
            ],
            "generationConfig": {
                "temperature": 0.2, "topP": 0.9, "maxOutputTokens": 100, "stopSequences": ["END"],
                "candidateCount": 2, "seed": 7, "responseMimeType": "application/json",
                "responseSchema": {"type": "object", "properties": {"a": {"type": "string", "nullable": true}}, "required": ["a"]}
            },
            "tools": [{"functionDeclarations": [
                {"name": "get_weather", "description": "Weather", "parameters": {"type": "object",
                    "properties": {"city": {"type": "string", "title": "City"}}, "required": ["city"]}},
                {"name": "get_time"}
            ]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
        });
        assert_eq!(got, want);
    }

    #[test]
    fn gemini_specific_params_pass_through() {
        let got = translate(
            &body(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_k": 3,
                "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]})),
            false,
        )
        .expect("translates");
        assert_eq!(got["generationConfig"], json!({"topK": 3}));
        assert_eq!(
            got["safetySettings"],
            json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}])
        );
    }

    #[test]
    fn json_mode_and_tool_choice_strings() {
        let got = translate(
            &body(
                json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_object"}, "tool_choice": "required"}),
            ),
            false,
        )
        .expect("translates");
        assert_eq!(
            got,
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"responseMimeType": "application/json"},
                "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}})
        );
    }

    #[test]
    fn unsupported_params_fail_unless_dropped() {
        let request = body(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "logit_bias": {"1": 2}}),
        );
        let e = translate(&request, false).expect_err("rejected");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.param.as_deref(), Some("logit_bias"));
        assert!(translate(&request, true).is_ok());
    }
}
