//! What a request may cost, reserved against budgets before the call and
//! settled with the real cost after. Estimates count ≈ 4 bytes of text per
//! token and price everything at the dearest deployment of the group, since
//! the router has not picked one yet.

use crate::runtime::ModelGroup;
use serde_json::{Map, Value};
use tollgate_shared::pricing::{Price, Tokens};

/// Completion tokens reserved when the request sets no `max_tokens`.
const DEFAULT_MAX_TOKENS: u64 = 256;

/// A chat request: the messages' text (plus 4 tokens per message for roles
/// and framing) and `max_completion_tokens` / `max_tokens`.
pub fn chat(body: &Map<String, Value>, group: &ModelGroup) -> u64 {
    let Some(price) = dearest_price(group) else {
        return 0;
    };
    let messages = body.get("messages").and_then(Value::as_array);
    let prompt_bytes: usize = messages
        .into_iter()
        .flatten()
        .map(|m| match m.get("content") {
            Some(Value::String(text)) => text.len(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .map(str::len)
                .sum(),
            _ => 0,
        })
        .sum();
    let message_count = messages.map_or(0, Vec::len);
    let prompt_tokens = (prompt_bytes / 4 + 1 + 4 * message_count) as u64;
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    price.cost(Tokens::uncached(
        prompt_tokens,
        max_tokens.min(most_output(group)),
    ))
}

/// An embedding (`input`, no output) or a text completion (`prompt`, then
/// `max_tokens`).
pub fn input_output(body: &Map<String, Value>, group: &ModelGroup) -> u64 {
    let Some(price) = dearest_price(group) else {
        return 0;
    };
    fn text_bytes(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(text_bytes).sum(),
            // Token ids: one token each.
            Value::Number(_) => 4,
            _ => 0,
        }
    }
    let (input, output) = match (body.get("input"), body.get("prompt")) {
        (Some(input), _) => (text_bytes(input), 0),
        (None, Some(prompt)) => (
            text_bytes(prompt),
            body.get("max_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(DEFAULT_MAX_TOKENS)
                .min(most_output(group)),
        ),
        (None, None) => (0, 0),
    };
    price.cost(Tokens::uncached(input as u64 / 4 + 1, output))
}

/// No deployment of the group generates more than this: a `max_tokens`
/// beyond it reserves budget the request can never spend. Unbounded when
/// any deployment's limit is unknown.
fn most_output(group: &ModelGroup) -> u64 {
    group
        .deployments()
        .iter()
        .map(|d| d.max_output.unwrap_or(u64::MAX))
        .max()
        .unwrap_or(u64::MAX)
}

fn dearest_price(group: &ModelGroup) -> Option<Price> {
    group
        .deployments()
        .iter()
        .filter_map(|d| d.price)
        .max_by_key(|p| p.input_per_token.saturating_add(p.output_per_token))
}
