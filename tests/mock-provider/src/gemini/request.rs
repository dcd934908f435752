//! The `GenerateContentRequest` as the mock reads and validates it: unknown
//! fields are refused with Google's own wording, so a gateway that sends an
//! OpenAI field to Gemini fails here as it would for real.

use serde_json::{Map, Value};

use super::error::GoogleError;
use crate::reply;

const TOP_LEVEL: &[&str] = &[
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
];

const GENERATION_CONFIG: &[&str] = &[
    "temperature",
    "topP",
    "topK",
    "maxOutputTokens",
    "stopSequences",
    "candidateCount",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "responseModalities",
];

const PART_FIELDS: &[&str] = &[
    "thoughtSignature",
    "text",
    "thought",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
];

#[derive(Debug)]
pub struct GenerateRequest {
    pub body: Map<String, Value>,
}

/// Google's proto-JSON parser takes a field by its lowerCamelCase JSON name or by its
/// proto name (`generation_config`, `max_output_tokens`); so does the mock, so that a
/// gateway sending either form is judged as Google would judge it.
fn known(names: &[&str], key: &str) -> bool {
    names.contains(&key) || names.contains(&lower_camel(key).as_str())
}

fn lower_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Values under these keys are the caller's own (schemas, tool arguments and results)
/// and keep their names.
const OPAQUE: &[&str] = &[
    "parameters",
    "response",
    "args",
    "responseSchema",
    "responseJsonSchema",
];

/// The body with every field under its JSON name, as Google's parser reads it, so the
/// mock's readers see one spelling whichever the gateway sent.
fn camel_names(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let key = lower_camel(&key);
                    let value = if OPAQUE.contains(&key.as_str()) {
                        value
                    } else {
                        camel_names(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_names).collect()),
        other => other,
    }
}

fn unknown(name: &str, at: &str) -> GoogleError {
    GoogleError::invalid(format!(
        "Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."
    ))
}

impl GenerateRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, GoogleError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| GoogleError::invalid(format!("Invalid JSON payload received. {e}")))?;
        let Value::Object(body) = camel_names(value) else {
            return Err(GoogleError::invalid(
                "Invalid JSON payload received. Expected an object.",
            ));
        };
        for key in body.keys() {
            if !known(TOP_LEVEL, key) {
                return Err(unknown(key, ""));
            }
        }
        if let Some(config) = body.get("generationConfig").and_then(Value::as_object) {
            for key in config.keys() {
                if !known(GENERATION_CONFIG, key) {
                    return Err(unknown(key, "generation_config"));
                }
            }
        }
        let contents = body
            .get("contents")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                GoogleError::invalid("* GenerateContentRequest.contents: contents is not specified")
            })?;
        for (i, content) in contents.iter().enumerate() {
            match content.get("role").and_then(Value::as_str) {
                Some("user" | "model") | None => {}
                Some(other) => {
                    return Err(GoogleError::invalid(format!(
                        "Please use a valid role: user, model. (got `{other}` in contents[{i}])"
                    )));
                }
            }
            let parts = content
                .get("parts")
                .and_then(Value::as_array)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    GoogleError::invalid(format!(
                        "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
                    ))
                })?;
            for part in parts {
                if let Some(object) = part.as_object() {
                    for key in object.keys() {
                        if !known(PART_FIELDS, key) {
                            return Err(unknown(key, &format!("contents[{i}].parts[0]")));
                        }
                    }
                }
            }
        }
        Ok(Self { body })
    }

    pub fn contents(&self) -> &[Value] {
        self.body
            .get("contents")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Text of the last `user` turn that has text (a turn of tool results
    /// alone is skipped, so the echo stays meaningful after a tool call).
    pub fn last_user_text(&self) -> String {
        self.contents()
            .iter()
            .rev()
            .filter(|c| c.get("role").and_then(Value::as_str) != Some("model"))
            .map(texts)
            .find(|t| !t.is_empty())
            .map(|t| t.join(" "))
            .unwrap_or_default()
    }

    /// Words of every text, plus one per turn (the system instruction counts
    /// as one), matching the OpenAI mock's rule for the same conversation.
    pub fn prompt_tokens(&self) -> u64 {
        let system = self.body.get("systemInstruction");
        system
            .into_iter()
            .chain(self.contents())
            .map(|c| texts(c).iter().map(|t| reply::word_count(t)).sum::<u64>() + 1)
            .sum()
    }

    /// Declared function names, in order.
    pub fn function_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
            .flatten()
            .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    pub fn wants_json(&self) -> bool {
        self.config("responseMimeType").and_then(Value::as_str) == Some("application/json")
    }

    pub fn candidate_count(&self) -> u64 {
        self.config("candidateCount")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .clamp(1, 8)
    }

    fn config(&self, key: &str) -> Option<&Value> {
        self.body.get("generationConfig")?.get(key)
    }
}

fn texts(content: &Value) -> Vec<&str> {
    content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}
