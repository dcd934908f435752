//! What a model costs. Money is counted in integer picodollars (10⁻¹² USD):
//! every real per-token price is a whole number of them, so spend adds up
//! exactly — no float drift between per-request costs and stored totals.

use serde::{Deserialize, Serialize};

/// 10⁻¹² USD.
pub type Picodollars = u64;

pub const PICOS_PER_DOLLAR: f64 = 1e12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_token: Picodollars,
    pub output_per_token: Picodollars,
}

impl Price {
    /// From USD per token (LiteLLM's `input_cost_per_token`), rounded to the
    /// nearest picodollar.
    pub fn from_usd_per_token(input: f64, output: f64) -> Option<Price> {
        let picos = |usd: f64| {
            (usd.is_finite() && usd >= 0.0 && usd * PICOS_PER_DOLLAR < u64::MAX as f64)
                .then(|| (usd * PICOS_PER_DOLLAR).round() as u64)
        };
        Some(Price {
            input_per_token: picos(input)?,
            output_per_token: picos(output)?,
        })
    }

    /// Saturates instead of overflowing (a bill of 18 million dollars).
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> Picodollars {
        prompt_tokens
            .saturating_mul(self.input_per_token)
            .saturating_add(completion_tokens.saturating_mul(self.output_per_token))
    }
}

/// USD (LiteLLM's float budgets and spend) → picodollars; `None` for
/// negative, non-finite or absurd amounts.
pub fn from_usd(usd: f64) -> Option<Picodollars> {
    (usd.is_finite() && usd >= 0.0 && usd * PICOS_PER_DOLLAR < u64::MAX as f64)
        .then(|| (usd * PICOS_PER_DOLLAR).round() as u64)
}

/// Prices from a file in LiteLLM's `model_prices_and_context_window.json`
/// format: `{"<model>": {"input_cost_per_token": 2.5e-06,
/// "output_cost_per_token": 1e-05, …}, …}`. Entries without token prices
/// (images, audio, `sample_spec`) are skipped.
pub fn parse_price_map(json: &str) -> Result<std::collections::BTreeMap<String, Price>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON object of models: {e}"))?;
    Ok(map
        .into_iter()
        .filter_map(|(model, entry)| {
            let input = entry.get("input_cost_per_token")?.as_f64()?;
            let output = entry
                .get("output_cost_per_token")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0);
            Some((model, Price::from_usd_per_token(input, output)?))
        })
        .collect())
}

pub fn to_usd(picos: Picodollars) -> f64 {
    picos as f64 / PICOS_PER_DOLLAR
}

/// USD per million tokens → picodollars per token.
const fn per_million(input: u64, output: u64) -> Price {
    // $1 per million tokens = 10⁶ picodollars per token; prices below are in
    // thousandths of a dollar per million to stay integral.
    Price {
        input_per_token: input * 1_000,
        output_per_token: output * 1_000,
    }
}

/// Public list prices (USD per million tokens, × 1000), by model name
/// prefix. Longest matching prefix wins, so dated versions
/// (`gpt-4o-2024-08-06`) find their family.
const TABLE: &[(&str, Price)] = &[
    ("gpt-4o-mini", per_million(150, 600)),
    ("gpt-4o", per_million(2_500, 10_000)),
    ("gpt-4.1-nano", per_million(100, 400)),
    ("gpt-4.1-mini", per_million(400, 1_600)),
    ("gpt-4.1", per_million(2_000, 8_000)),
    ("gpt-4-turbo", per_million(10_000, 30_000)),
    ("gpt-4", per_million(30_000, 60_000)),
    ("gpt-3.5-turbo", per_million(500, 1_500)),
    ("o1-mini", per_million(1_100, 4_400)),
    ("o1", per_million(15_000, 60_000)),
    ("o3-mini", per_million(1_100, 4_400)),
    ("o3", per_million(2_000, 8_000)),
    ("o4-mini", per_million(1_100, 4_400)),
    ("text-embedding-3-small", per_million(20, 0)),
    ("text-embedding-3-large", per_million(130, 0)),
    ("text-embedding-ada-002", per_million(100, 0)),
    ("claude-3-5-sonnet", per_million(3_000, 15_000)),
    ("claude-3-7-sonnet", per_million(3_000, 15_000)),
    ("claude-sonnet-4", per_million(3_000, 15_000)),
    ("claude-3-5-haiku", per_million(800, 4_000)),
    ("claude-3-haiku", per_million(250, 1_250)),
    ("claude-3-opus", per_million(15_000, 75_000)),
    ("claude-opus-4", per_million(15_000, 75_000)),
    ("anthropic.claude-3-5-sonnet", per_million(3_000, 15_000)),
    ("anthropic.claude-3-haiku", per_million(250, 1_250)),
    ("gemini-1.5-pro", per_million(1_250, 5_000)),
    ("gemini-1.5-flash", per_million(75, 300)),
    ("gemini-2.0-flash", per_million(100, 400)),
    ("gemini-2.5-pro", per_million(1_250, 10_000)),
    ("gemini-2.5-flash", per_million(300, 2_500)),
    ("mistral-large", per_million(2_000, 6_000)),
    ("mistral-small", per_million(200, 600)),
    ("mistral-embed", per_million(100, 0)),
    ("llama-3.3-70b-versatile", per_million(590, 790)),
    ("llama-3.1-8b-instant", per_million(50, 80)),
    ("deepseek-chat", per_million(270, 1_100)),
    ("deepseek-reasoner", per_million(550, 2_190)),
    ("amazon.titan-embed-text", per_million(20, 0)),
];

/// The built-in price of `model` (provider prefix already stripped).
pub fn builtin(model: &str) -> Option<Price> {
    // Bedrock ids carry a region prefix (`us.anthropic.claude-…`).
    let model = model
        .strip_prefix("us.")
        .or_else(|| model.strip_prefix("eu."))
        .unwrap_or(model);
    TABLE
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, price)| *price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_litellm_price_files() {
        let map = parse_price_map(
            r#"{"sample_spec": {"max_tokens": "LEGACY"},
                "my-ft": {"input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06, "litellm_provider": "openai"},
                "dall-e-3": {"output_cost_per_pixel": 0.0}}"#,
        )
        .expect("valid");
        assert_eq!(map.len(), 1);
        assert_eq!(
            map["my-ft"],
            Price {
                input_per_token: 3_000_000,
                output_per_token: 4_000_000
            }
        );
        assert!(parse_price_map("[1, 2]").is_err());
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            builtin("gpt-4o-mini-2024-07-18"),
            Some(per_million(150, 600))
        );
        assert_eq!(
            builtin("gpt-4o-2024-08-06"),
            Some(per_million(2_500, 10_000))
        );
        assert_eq!(
            builtin("us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            Some(per_million(3_000, 15_000))
        );
        assert_eq!(builtin("my-finetune"), None);
    }

    #[test]
    fn costs_are_exact_integers() {
        // gpt-4o-mini: $0.15 / $0.60 per million tokens.
        let p = builtin("gpt-4o-mini").expect("priced");
        assert_eq!(p.cost(1_000_000, 1_000_000), 750_000_000_000);
        assert_eq!(to_usd(p.cost(1_000_000, 1_000_000)), 0.75);
        let custom = Price::from_usd_per_token(1e-6, 2e-6).expect("valid");
        assert_eq!(custom.cost(3, 5), 13_000_000);
        assert!(Price::from_usd_per_token(-1.0, 0.0).is_none());
        assert_eq!(
            Price {
                input_per_token: u64::MAX,
                output_per_token: 1
            }
            .cost(2, 1),
            u64::MAX
        );
    }
}
