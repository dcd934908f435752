//! `tools` and `tool_choice`: what OpenAI checks of a function tool, so a
//! translation (Anthropic, Gemini, Bedrock, Ollama) never receives a tool
//! it cannot name.

use super::{Invalid, optional};
use serde_json::{Map, Value};

/// OpenAI's rule for a function name: `^[a-zA-Z0-9_-]{1,64}$`.
const NAME_RULE: &str = "a name of 1 to 64 letters, digits, `_` or `-`";

pub fn check(body: &Map<String, Value>) -> Result<(), Invalid> {
    if let Some(tools) = optional(body, "tools") {
        check_tools(tools)?;
    }
    if let Some(choice) = optional(body, "tool_choice") {
        check_choice(choice)?;
    }
    Ok(())
}

fn check_tools(tools: &Value) -> Result<(), Invalid> {
    let Value::Array(tools) = tools else {
        return Err(Invalid::new(
            "tools",
            "an array of {\"type\": \"function\", \"function\": {\"name\": ...}} objects",
            tools,
        ));
    };
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        let Value::Object(tool) = tool else {
            return Err(Invalid::new(
                &at,
                "an object {\"type\": \"function\", \"function\": {\"name\": ...}}",
                tool,
            ));
        };
        match tool.get("type") {
            Some(Value::String(kind)) if kind == "function" => {}
            // Provider-native tools (Anthropic's `web_search_…`, OpenAI's
            // `custom`) are the provider's to judge, as LiteLLM leaves them.
            Some(Value::String(_)) => continue,
            Some(other) => return Err(Invalid::new(format!("{at}.type"), "\"function\"", other)),
            None => return Err(Invalid::missing(format!("{at}.type"), "\"function\"")),
        }
        let function = match tool.get("function") {
            Some(Value::Object(function)) => function,
            Some(other) => {
                return Err(Invalid::new(
                    format!("{at}.function"),
                    "an object with `name` (and `description`, `parameters`)",
                    other,
                ));
            }
            None => {
                return Err(Invalid::missing(
                    format!("{at}.function"),
                    "an object with `name` (and `description`, `parameters`)",
                ));
            }
        };
        check_name(&format!("{at}.function.name"), function.get("name"))?;
        if let Some(description) = optional(function, "description")
            && !description.is_string()
        {
            return Err(Invalid::new(
                format!("{at}.function.description"),
                "a string",
                description,
            ));
        }
        if let Some(parameters) = optional(function, "parameters")
            && !parameters.is_object()
        {
            return Err(Invalid::new(
                format!("{at}.function.parameters"),
                "a JSON Schema object",
                parameters,
            ));
        }
    }
    Ok(())
}

fn check_name(at: &str, name: Option<&Value>) -> Result<(), Invalid> {
    match name {
        Some(Value::String(name))
            if (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Ok(())
        }
        Some(other) => Err(Invalid::new(at, NAME_RULE, other)),
        None => Err(Invalid::missing(at, NAME_RULE)),
    }
}

/// `"none"`, `"auto"`, `"required"`, or an object naming a function.
fn check_choice(choice: &Value) -> Result<(), Invalid> {
    const SHAPE: &str = "\"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}";
    match choice {
        Value::String(s) if ["none", "auto", "required"].contains(&s.as_str()) => Ok(()),
        Value::Object(choice) => match choice.get("type") {
            Some(Value::String(kind)) if kind == "function" => match choice.get("function") {
                Some(Value::Object(function)) => {
                    check_name("tool_choice.function.name", function.get("name"))
                }
                Some(other) => Err(Invalid::new(
                    "tool_choice.function",
                    "an object {\"name\": ...}",
                    other,
                )),
                None => Err(Invalid::missing(
                    "tool_choice.function",
                    "an object {\"name\": ...}",
                )),
            },
            Some(Value::String(_)) => Ok(()),
            Some(other) => Err(Invalid::new("tool_choice.type", "\"function\"", other)),
            None => Err(Invalid::missing("tool_choice.type", "\"function\"")),
        },
        other => Err(Invalid::new("tool_choice", SHAPE, other)),
    }
}
