//! The text-or-tokens inputs of completions (`prompt`) and embeddings
//! (`input`): a string, an array of strings, an array of token ids, or an
//! array of token-id arrays — one kind throughout, never empty.

use super::Invalid;
use serde_json::Value;

const PROMPT_SHAPE: &str =
    "a string, an array of strings, an array of token ids or an array of token-id arrays";
const INPUT_SHAPE: &str =
    "a string, a non-empty array of strings, of token ids or of token-id arrays";

pub fn check_prompt(prompt: Option<&Value>) -> Result<(), Invalid> {
    match prompt {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) => check_items("prompt", items, PROMPT_SHAPE),
        Some(other) => Err(Invalid::new("prompt", PROMPT_SHAPE, other)),
        None => Err(Invalid::missing("prompt", PROMPT_SHAPE)),
    }
}

pub fn check_embedding_input(input: Option<&Value>) -> Result<(), Invalid> {
    match input {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) => check_items("input", items, INPUT_SHAPE),
        Some(other) => Err(Invalid::new("input", INPUT_SHAPE, other)),
        None => Err(Invalid::missing("input", INPUT_SHAPE)),
    }
}

/// The first entry decides the kind; every other entry must be of it.
fn check_items(at: &str, items: &[Value], shape: &str) -> Result<(), Invalid> {
    let Some(first) = items.first() else {
        return Err(Invalid::new(at, shape, &Value::Array(Vec::new())));
    };
    match first {
        Value::String(_) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_string() {
                    return Err(Invalid::new(
                        format!("{at}[{i}]"),
                        "a string, like the array's first entry",
                        item,
                    ));
                }
            }
            Ok(())
        }
        Value::Number(_) => tokens(at, items),
        Value::Array(_) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{at}[{i}]");
                match item {
                    Value::Array(inner) if !inner.is_empty() => tokens(&at, inner)?,
                    other => {
                        return Err(Invalid::new(
                            at,
                            "a non-empty array of token ids, like the array's first entry",
                            other,
                        ));
                    }
                }
            }
            Ok(())
        }
        other => Err(Invalid::new(format!("{at}[0]"), shape, other)),
    }
}

fn tokens(at: &str, items: &[Value]) -> Result<(), Invalid> {
    for (i, item) in items.iter().enumerate() {
        let token_id = item.as_u64().and_then(|n| u32::try_from(n).ok());
        if token_id.is_none() {
            return Err(Invalid::new(
                format!("{at}[{i}]"),
                "a token id (an integer from 0 to 4294967295)",
                item,
            ));
        }
    }
    Ok(())
}
