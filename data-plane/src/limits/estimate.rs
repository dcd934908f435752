//! What a request may cost, reserved against budgets before the call and
//! settled with the real cost after. Estimates count ≈ 4 bytes of text per
//! token and price everything at the dearest deployment of the group, since
//! the router has not picked one yet.

use crate::runtime::ModelGroup;
use serde_json::{Map, Value};
use tollgate_shared::pricing::{Price, Tokens};

/// What a request reserves when its cost cannot be estimated at all (a
/// pass-through no configured deployment prices, a custom endpoint without
/// `cost_per_request`): unknown is not free, so one picodollar — enough
/// that a budget already reached refuses it, as LiteLLM's auth does on every
/// route, and nothing a budget still below its limit would notice.
pub const UNKNOWN_COST: u64 = 1;

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
        .map(|d| d.token_limits.max_output.unwrap_or(u64::MAX))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Runtime;
    use serde_json::json;
    use std::collections::BTreeMap;
    use tollgate_shared::snapshot::Snapshot;

    fn runtime(models: &str) -> Runtime {
        let yaml = format!("model_list:\n{models}");
        let loaded = tollgate_shared::config::load(&yaml, &BTreeMap::new()).expect("valid");
        Runtime::build(&Snapshot::from_config(&loaded)).expect("builds")
    }

    use crate::test_support::object as body;

    #[test]
    fn max_tokens_is_reserved_up_to_what_the_model_can_generate() {
        // gpt-4o-mini: $0.15 / $0.60 per million tokens, 16,384 output at most.
        let rt = runtime("  - model_name: g\n    litellm_params: {model: openai/gpt-4o-mini}\n");
        let group = rt.group("g").expect("group");
        // "abcd": 4 bytes → 1 token, + 1, + 4 for the one message.
        let prompt = 6 * 150_000;
        let asked = |max: Option<u64>| {
            let mut b = json!({"messages": [{"role": "user", "content": "abcd"}]});
            if let Some(max) = max {
                b["max_tokens"] = max.into();
            }
            chat(&body(b), group)
        };
        assert_eq!(asked(Some(100)), prompt + 100 * 600_000);
        assert_eq!(asked(None), prompt + DEFAULT_MAX_TOKENS * 600_000);
        assert_eq!(asked(Some(1_000_000)), prompt + 16_384 * 600_000);
    }

    #[test]
    fn an_unknown_output_limit_caps_nothing() {
        let rt = runtime(
            "  - model_name: g\n    litellm_params: {model: openai/gpt-4o-mini}\n  - model_name: g\n    litellm_params: {model: openai/custom, input_cost_per_token: 1.0e-6, output_cost_per_token: 1.0e-6}\n",
        );
        let group = rt.group("g").expect("group");
        let b = body(json!({"prompt": "abcd", "max_tokens": 1_000_000}));
        // Priced at the dearest deployment (custom, $1 + $1 per million),
        // and not capped: nobody knows how much custom may generate.
        assert_eq!(
            input_output(&b, group),
            2 * 1_000_000 + 1_000_000 * 1_000_000
        );
    }
}
