//! Sampling and output parameters: their types, and the ranges OpenAI
//! enforces (`n` 1–128, `temperature` 0–2, …). `null` means "not set", as
//! it does for OpenAI.

use super::{Invalid, optional};
use serde_json::{Map, Value};

pub fn check_chat(body: &Map<String, Value>) -> Result<(), Invalid> {
    common(body)?;
    integer(body, "max_tokens", 1, i64::from(u32::MAX))?;
    integer(body, "max_completion_tokens", 1, i64::from(u32::MAX))?;
    boolean(body, "logprobs")?;
    integer(body, "top_logprobs", 0, 20)?;
    boolean(body, "parallel_tool_calls")?;
    object(body, "stream_options")?;
    if let Some(format) = optional(body, "response_format") {
        let Value::Object(format) = format else {
            return Err(Invalid::new(
                "response_format",
                "an object such as {\"type\": \"json_object\"}",
                format,
            ));
        };
        match format.get("type") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(Invalid::new(
                    "response_format.type",
                    "\"text\", \"json_object\" or \"json_schema\"",
                    other,
                ));
            }
            None => {
                return Err(Invalid::missing(
                    "response_format.type",
                    "\"text\", \"json_object\" or \"json_schema\"",
                ));
            }
        }
    }
    Ok(())
}

pub fn check_completion(body: &Map<String, Value>) -> Result<(), Invalid> {
    common(body)?;
    // `max_tokens: 0` with `echo` scores a prompt without generating.
    integer(body, "max_tokens", 0, i64::from(u32::MAX))?;
    integer(body, "best_of", 0, 20)?;
    integer(body, "logprobs", 0, 5)?;
    boolean(body, "echo")?;
    string(body, "suffix")
}

/// What chat and completions share.
fn common(body: &Map<String, Value>) -> Result<(), Invalid> {
    integer(body, "n", 1, 128)?;
    number(body, "temperature", 0.0, 2.0)?;
    number(body, "top_p", 0.0, 1.0)?;
    number(body, "presence_penalty", -2.0, 2.0)?;
    number(body, "frequency_penalty", -2.0, 2.0)?;
    integer(body, "seed", i64::MIN, i64::MAX)?;
    string(body, "user")?;
    stop(body)?;
    logit_bias(body)
}

fn integer(body: &Map<String, Value>, field: &str, min: i64, max: i64) -> Result<(), Invalid> {
    let Some(value) = optional(body, field) else {
        return Ok(());
    };
    let n = value.as_i64().or_else(|| {
        // Some clients write integers as `2.0`; a fraction or an overflow
        // is not an integer.
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(Invalid::new(field, &integer_range(min, max), value)),
    }
}

fn integer_range(min: i64, max: i64) -> String {
    match (min, max) {
        (i64::MIN, i64::MAX) => "an integer".to_string(),
        (min, max) if max == i64::from(u32::MAX) => format!("an integer of at least {min}"),
        (min, max) => format!("an integer from {min} to {max}"),
    }
}

fn number(body: &Map<String, Value>, field: &str, min: f64, max: f64) -> Result<(), Invalid> {
    let Some(value) = optional(body, field) else {
        return Ok(());
    };
    match value.as_f64() {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(Invalid::new(
            field,
            &format!("a number from {min} to {max}"),
            value,
        )),
    }
}

fn boolean(body: &Map<String, Value>, field: &str) -> Result<(), Invalid> {
    match optional(body, field) {
        Some(value) if !value.is_boolean() => Err(Invalid::new(field, "true or false", value)),
        _ => Ok(()),
    }
}

fn string(body: &Map<String, Value>, field: &str) -> Result<(), Invalid> {
    match optional(body, field) {
        Some(value) if !value.is_string() => Err(Invalid::new(field, "a string", value)),
        _ => Ok(()),
    }
}

fn object(body: &Map<String, Value>, field: &str) -> Result<(), Invalid> {
    match optional(body, field) {
        Some(value) if !value.is_object() => Err(Invalid::new(field, "an object", value)),
        _ => Ok(()),
    }
}

/// A string, or an array of strings.
fn stop(body: &Map<String, Value>) -> Result<(), Invalid> {
    const SHAPE: &str = "a string or an array of strings";
    match optional(body, "stop") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) => match items.iter().position(|s| !s.is_string()) {
            Some(i) => Err(Invalid::new(format!("stop[{i}]"), "a string", &items[i])),
            None => Ok(()),
        },
        Some(other) => Err(Invalid::new("stop", SHAPE, other)),
    }
}

/// Token id → bias from -100 to 100.
fn logit_bias(body: &Map<String, Value>) -> Result<(), Invalid> {
    let Some(bias) = optional(body, "logit_bias") else {
        return Ok(());
    };
    let Value::Object(bias) = bias else {
        return Err(Invalid::new(
            "logit_bias",
            "an object mapping token ids to numbers from -100 to 100",
            bias,
        ));
    };
    for (token, value) in bias {
        if !value
            .as_f64()
            .is_some_and(|b| (-100.0..=100.0).contains(&b))
        {
            return Err(Invalid::new(
                format!("logit_bias.{token}"),
                "a number from -100 to 100",
                value,
            ));
        }
    }
    Ok(())
}
