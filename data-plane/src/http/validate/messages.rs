//! `messages`: each entry an object with a known role, its content in a
//! shape that role may carry, and an assistant's tool calls well formed.

use super::Invalid;
use serde_json::{Map, Value};

const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];
const ROLE_LIST: &str =
    "one of \"system\", \"developer\", \"user\", \"assistant\", \"tool\", \"function\"";

pub fn check(messages: Option<&Value>) -> Result<(), Invalid> {
    let Some(Value::Array(messages)) = messages else {
        let got = messages.unwrap_or(&Value::Null);
        return Err(Invalid::new(
            "messages",
            "a non-empty array of message objects",
            got,
        ));
    };
    if messages.is_empty() {
        return Err(Invalid::new(
            "messages",
            "a non-empty array of message objects",
            &Value::Array(vec![]),
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        check_message(&format!("messages[{i}]"), message)?;
    }
    Ok(())
}

fn check_message(at: &str, message: &Value) -> Result<(), Invalid> {
    let Value::Object(message) = message else {
        return Err(Invalid::new(
            at,
            &format!("an object with a `role` ({ROLE_LIST}) and `content`"),
            message,
        ));
    };
    let role = match message.get("role") {
        Some(Value::String(role)) if ROLES.contains(&role.as_str()) => role.as_str(),
        Some(other) => return Err(Invalid::new(format!("{at}.role"), ROLE_LIST, other)),
        None => return Err(Invalid::missing(format!("{at}.role"), ROLE_LIST)),
    };
    if let Some(name) = message.get("name").filter(|v| !v.is_null())
        && !name.is_string()
    {
        return Err(Invalid::new(format!("{at}.name"), "a string", name));
    }
    match role {
        "assistant" => check_assistant(at, message),
        "tool" => {
            check_content(at, message, Content::Required)?;
            match message.get("tool_call_id") {
                Some(Value::String(_)) => Ok(()),
                Some(other) => Err(Invalid::new(
                    format!("{at}.tool_call_id"),
                    "a string",
                    other,
                )),
                None => Err(Invalid::missing(
                    format!("{at}.tool_call_id"),
                    "the id of the tool call this message answers",
                )),
            }
        }
        // The legacy function result: its content may be null.
        "function" => check_content(at, message, Content::Nullable),
        _ => check_content(at, message, Content::Required),
    }
}

/// An assistant turn may carry no content only when it calls tools (or
/// the legacy `function_call`), as OpenAI requires.
fn check_assistant(at: &str, message: &Map<String, Value>) -> Result<(), Invalid> {
    let calls = message.get("tool_calls").filter(|v| !v.is_null());
    if let Some(calls) = calls {
        check_tool_calls(&format!("{at}.tool_calls"), calls)?;
    }
    let calls_something =
        calls.is_some() || message.get("function_call").is_some_and(|v| !v.is_null());
    let content = if calls_something {
        Content::Nullable
    } else {
        Content::Required
    };
    check_content(at, message, content)
}

fn check_tool_calls(at: &str, calls: &Value) -> Result<(), Invalid> {
    let Value::Array(calls) = calls else {
        return Err(Invalid::new(at, "an array of tool calls", calls));
    };
    for (i, call) in calls.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let Value::Object(call) = call else {
            return Err(Invalid::new(
                &at,
                "an object {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}",
                call,
            ));
        };
        if let Some(id) = call.get("id")
            && !id.is_string()
        {
            return Err(Invalid::new(format!("{at}.id"), "a string", id));
        }
        let function = match call.get("function") {
            Some(Value::Object(function)) => function,
            Some(other) => {
                return Err(Invalid::new(
                    format!("{at}.function"),
                    "an object with `name` and `arguments`",
                    other,
                ));
            }
            None => {
                return Err(Invalid::missing(
                    format!("{at}.function"),
                    "an object with `name` and `arguments`",
                ));
            }
        };
        match function.get("name") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(Invalid::new(
                    format!("{at}.function.name"),
                    "a string",
                    other,
                ));
            }
            None => {
                return Err(Invalid::missing(
                    format!("{at}.function.name"),
                    "the name of the function called",
                ));
            }
        }
        if let Some(arguments) = function.get("arguments")
            && !arguments.is_string()
        {
            return Err(Invalid::new(
                format!("{at}.function.arguments"),
                "a string holding the JSON arguments",
                arguments,
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Content {
    Required,
    Nullable,
}

const CONTENT_SHAPE: &str = "a string or an array of content parts ({\"type\": \"text\", \"text\": ...}, {\"type\": \"image_url\", ...})";

fn check_content(at: &str, message: &Map<String, Value>, content: Content) -> Result<(), Invalid> {
    let param = format!("{at}.content");
    match message.get("content") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => check_parts(&param, parts),
        None | Some(Value::Null) if content == Content::Nullable => Ok(()),
        None => Err(Invalid::missing(param, CONTENT_SHAPE)),
        Some(other) => Err(Invalid::new(param, CONTENT_SHAPE, other)),
    }
}

/// Each part an object with a string `type`; the two OpenAI types every
/// provider translates (`text`, `image_url`) carry their payload. Other
/// types (audio, files, provider-native parts) are the provider's to judge.
fn check_parts(at: &str, parts: &[Value]) -> Result<(), Invalid> {
    for (i, part) in parts.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let Value::Object(part) = part else {
            return Err(Invalid::new(
                &at,
                "a content part object such as {\"type\": \"text\", \"text\": \"...\"}",
                part,
            ));
        };
        let kind = match part.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => {
                return Err(Invalid::new(
                    format!("{at}.type"),
                    "a string such as \"text\"",
                    other,
                ));
            }
            None => {
                return Err(Invalid::missing(
                    format!("{at}.type"),
                    "the part's type, such as \"text\" or \"image_url\"",
                ));
            }
        };
        match kind {
            "text" => match part.get("text") {
                Some(Value::String(_)) => {}
                Some(other) => return Err(Invalid::new(format!("{at}.text"), "a string", other)),
                None => return Err(Invalid::missing(format!("{at}.text"), "the part's text")),
            },
            "image_url" => match part.get("image_url") {
                // LiteLLM also takes the URL as a bare string.
                Some(Value::String(_)) => {}
                Some(Value::Object(image)) if image.get("url").is_some_and(Value::is_string) => {}
                Some(other) => {
                    return Err(Invalid::new(
                        format!("{at}.image_url"),
                        "an object {\"url\": \"https://… or data:…\"}",
                        other,
                    ));
                }
                None => {
                    return Err(Invalid::missing(
                        format!("{at}.image_url"),
                        "an object {\"url\": ...}",
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::describe;
    use super::*;
    use serde_json::json;

    #[test]
    fn describe_names_what_was_sent() {
        assert_eq!(describe(&json!([])), "an empty array");
        let Err(e) = check(Some(&json!([{"role": "user", "content": "x"}, []]))) else {
            panic!("an empty entry was accepted");
        };
        assert_eq!(e.param, "messages[1]");
        assert!(e.message.contains("got an empty array"), "{}", e.message);
    }

    #[test]
    fn an_image_part_whose_url_is_a_string_passes() {
        let messages =
            json!([{"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]}]);
        assert_eq!(check(Some(&messages)), Ok(()));
    }
}
