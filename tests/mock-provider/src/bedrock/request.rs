//! A Converse request body, validated as Bedrock does (ValidationException
//! with its wording), and the facts the mock's answer depends on.

use serde_json::{Map, Value, json};

use super::AwsError;
use crate::reply;

const TOP_LEVEL: [&str; 9] = [
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "performanceConfig",
    "promptVariables",
];
const INFERENCE: [&str; 4] = ["maxTokens", "temperature", "topP", "stopSequences"];
const IMAGE_FORMATS: [&str; 4] = ["png", "jpeg", "gif", "webp"];

#[derive(Debug)]
pub struct Converse {
    system: Vec<String>,
    messages: Vec<(String, Vec<Value>)>,
    tool_config: Option<Map<String, Value>>,
}

pub fn parse(body: &Value) -> Result<Converse, AwsError> {
    let Value::Object(body) = body else {
        return Err(AwsError::validation(
            "Malformed input request: expected an object",
        ));
    };
    if let Some(extra) = body.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(AwsError::validation(format!(
            "Malformed input request: extraneous key [{extra}] is not permitted"
        )));
    }
    let mut system = Vec::new();
    if let Some(blocks) = body.get("system") {
        for block in blocks
            .as_array()
            .ok_or_else(|| AwsError::validation("system must be a list"))?
        {
            let text = block
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| AwsError::validation("system blocks must have text"))?;
            system.push(text.to_string());
        }
    }
    if let Some(Value::Object(config)) = body.get("inferenceConfig")
        && let Some(extra) = config.keys().find(|k| !INFERENCE.contains(&k.as_str()))
    {
        return Err(AwsError::validation(format!(
            "Malformed input request: extraneous key [{extra}] is not permitted in inferenceConfig"
        )));
    }
    let list = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| AwsError::validation("A conversation must start with a user message. Try again with a conversation that starts with a user message."))?;
    let mut messages: Vec<(String, Vec<Value>)> = Vec::new();
    for (i, message) in list.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if !matches!(role, "user" | "assistant") {
            return Err(AwsError::validation(format!(
                "messages.{i}.role: must be user or assistant"
            )));
        }
        if i == 0 && role != "user" {
            return Err(AwsError::validation(
                "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
            ));
        }
        if messages.last().is_some_and(|(r, _)| r == role) {
            return Err(AwsError::validation(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            ));
        }
        let content = message
            .get("content")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AwsError::validation(format!("messages.{i}.content: must not be empty"))
            })?;
        for (j, block) in content.iter().enumerate() {
            validate_block(block)
                .map_err(|why| AwsError::validation(format!("messages.{i}.content.{j}: {why}")))?;
        }
        messages.push((role.to_string(), content.clone()));
    }
    let tool_config = match body.get("toolConfig") {
        None => None,
        Some(Value::Object(config)) => {
            let tools = config
                .get("tools")
                .and_then(Value::as_array)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| AwsError::validation("toolConfig.tools must not be empty"))?;
            for tool in tools {
                let spec = tool.get("toolSpec");
                let ok = spec
                    .and_then(|s| s.get("name"))
                    .and_then(Value::as_str)
                    .is_some()
                    && spec
                        .and_then(|s| s.get("inputSchema"))
                        .and_then(|s| s.get("json"))
                        .is_some();
                if !ok {
                    return Err(AwsError::validation(
                        "toolConfig.tools: each toolSpec needs name and inputSchema.json",
                    ));
                }
            }
            Some(config.clone())
        }
        Some(_) => return Err(AwsError::validation("toolConfig must be an object")),
    };
    Ok(Converse {
        system,
        messages,
        tool_config,
    })
}

fn validate_block(block: &Value) -> Result<(), &'static str> {
    let Value::Object(block) = block else {
        return Err("must be an object");
    };
    if block.len() != 1 {
        return Err("a content block must have exactly one member");
    }
    if let Some(text) = block.get("text") {
        return match text.as_str() {
            Some(t) if !t.trim().is_empty() => Ok(()),
            _ => Err("text content blocks must be non-empty"),
        };
    }
    if let Some(image) = block.get("image") {
        let format = image.get("format").and_then(Value::as_str).unwrap_or("");
        if !IMAGE_FORMATS.contains(&format) {
            return Err("image.format must be png, jpeg, gif or webp");
        }
        return match image
            .get("source")
            .and_then(|s| s.get("bytes"))
            .and_then(Value::as_str)
        {
            Some(b) if !b.is_empty() => Ok(()),
            _ => Err("image.source.bytes is required"),
        };
    }
    if let Some(tool) = block.get("toolUse") {
        let ok = tool.get("toolUseId").and_then(Value::as_str).is_some()
            && tool.get("name").and_then(Value::as_str).is_some()
            && tool.get("input").is_some();
        return if ok {
            Ok(())
        } else {
            Err("toolUse needs toolUseId, name and input")
        };
    }
    if let Some(result) = block.get("toolResult") {
        let ok = result.get("toolUseId").and_then(Value::as_str).is_some()
            && result.get("content").and_then(Value::as_array).is_some();
        return if ok {
            Ok(())
        } else {
            Err("toolResult needs toolUseId and content")
        };
    }
    if block.contains_key("reasoningContent") || block.contains_key("document") {
        return Ok(());
    }
    Err("unknown content block type")
}

fn block_text(block: &Value) -> Option<String> {
    if let Some(t) = block.get("text").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    let result = block.get("toolResult")?;
    let texts: Vec<&str> = result
        .get("content")?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    Some(texts.join(" "))
}

impl Converse {
    /// The mock's tokenizer rule: words of every text, plus one per message
    /// (each system block counts as one).
    pub fn prompt_tokens(&self) -> u64 {
        let system: u64 = self.system.iter().map(|t| reply::word_count(t) + 1).sum();
        let messages: u64 = self
            .messages
            .iter()
            .map(|(_, blocks)| {
                blocks
                    .iter()
                    .filter_map(block_text)
                    .map(|t| reply::word_count(&t))
                    .sum::<u64>()
                    + 1
            })
            .sum();
        system + messages
    }

    /// Text of the last user message (tool results count as text).
    pub fn last_user_text(&self) -> String {
        self.messages
            .iter()
            .rev()
            .find(|(role, _)| role == "user")
            .map(|(_, blocks)| {
                blocks
                    .iter()
                    .filter_map(block_text)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// A forced tool is always called (with the reply as its input, which
    /// makes JSON mode testable); otherwise the first tool is called when the
    /// last user text asks about the weather.
    pub fn tool_call(&self, text: &str) -> Option<(String, Value)> {
        let config = self.tool_config.as_ref()?;
        if let Some(name) = config
            .get("toolChoice")
            .and_then(|c| c.get("tool"))
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
        {
            return Some((name.to_string(), json!({"reply": reply::echo(text)})));
        }
        let last_is_text = self
            .messages
            .last()
            .is_some_and(|(_, blocks)| blocks.iter().any(|b| b.get("text").is_some()));
        let name = config
            .get("tools")?
            .as_array()?
            .first()?
            .get("toolSpec")?
            .get("name")?
            .as_str()?;
        (last_is_text && text.to_lowercase().contains("weather"))
            .then(|| (name.to_string(), json!({"location": "Paris"})))
    }
}
