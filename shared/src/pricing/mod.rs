//! What a model costs and how much it takes. Money is counted in integer
//! picodollars (10⁻¹² USD): every real per-token price is a whole number of
//! them, so spend adds up exactly — no float drift between per-request costs
//! and stored totals.

use serde::{Deserialize, Serialize};

mod deployment;
mod price_file;
mod table;

pub use deployment::{CostField, DeploymentOverrides, InvalidCost, UNIT_COST_FIELDS};
pub use price_file::parse_price_map;
pub use table::builtin;

/// 10⁻¹² USD.
pub type Picodollars = u64;

pub const PICOS_PER_DOLLAR: f64 = 1e12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_token: Picodollars,
    pub output_per_token: Picodollars,
    /// Prompt tokens the provider served from its prompt cache. Equal to
    /// the input price for a model whose provider gives no discount, or
    /// whose discount nobody configured (what LiteLLM charges too).
    pub cached_input_per_token: Picodollars,
    /// Prompt tokens written to the provider's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`, LiteLLM's
    /// `cache_creation_input_token_cost`). Equal to the input price unless
    /// configured or known.
    pub cache_creation_input_per_token: Picodollars,
}

/// The tokens one request used, as providers report them: `cached` is the
/// part of `prompt` read from the provider's cache, not an addition to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
}

impl Tokens {
    pub fn uncached(prompt: u64, completion: u64) -> Tokens {
        Tokens {
            prompt,
            cached: 0,
            completion,
        }
    }
}

impl Price {
    /// From USD per token (LiteLLM's `input_cost_per_token`,
    /// `output_cost_per_token`, `cache_read_input_token_cost`), rounded to
    /// the nearest picodollar; cached input defaults to the input price.
    pub fn from_usd_per_token(input: f64, output: f64, cached_input: Option<f64>) -> Option<Price> {
        let input_per_token = from_usd(input)?;
        Some(Price {
            input_per_token,
            output_per_token: from_usd(output)?,
            cached_input_per_token: match cached_input {
                Some(usd) => from_usd(usd)?,
                None => input_per_token,
            },
            cache_creation_input_per_token: input_per_token,
        })
    }

    /// The same price with its own cache-write rate (`None` keeps the
    /// input price); `None` for a rate that is not a price.
    pub fn with_cache_creation(self, usd: Option<f64>) -> Option<Price> {
        Some(Price {
            cache_creation_input_per_token: match usd {
                Some(usd) => from_usd(usd)?,
                None => self.input_per_token,
            },
            ..self
        })
    }

    /// [`Price::cost`] where `cache_creation` of the prompt tokens were
    /// written to the provider's cache: those are charged at the cache-write
    /// rate instead of the input rate (LiteLLM's rule for Anthropic).
    pub fn cost_with_cache_writes(&self, tokens: Tokens, cache_creation: u64) -> Picodollars {
        let uncached = tokens.prompt - tokens.cached.min(tokens.prompt);
        let writes = cache_creation.min(uncached);
        let rest = Tokens {
            prompt: tokens.prompt - writes,
            ..tokens
        };
        self.cost(rest)
            .saturating_add(writes.saturating_mul(self.cache_creation_input_per_token))
    }

    /// Saturates instead of overflowing (a bill of 18 million dollars). A
    /// provider claiming more cached tokens than prompt tokens is charged
    /// as if all of the prompt were cached, never a negative amount.
    pub fn cost(&self, tokens: Tokens) -> Picodollars {
        let cached = tokens.cached.min(tokens.prompt);
        (tokens.prompt - cached)
            .saturating_mul(self.input_per_token)
            .saturating_add(cached.saturating_mul(self.cached_input_per_token))
            .saturating_add(tokens.completion.saturating_mul(self.output_per_token))
    }

    /// In LiteLLM's field names and units (USD per token), for
    /// `/model/info` and the snapshot.
    pub fn to_usd_per_token(&self) -> (f64, f64, f64) {
        (
            to_usd(self.input_per_token),
            to_usd(self.output_per_token),
            to_usd(self.cached_input_per_token),
        )
    }

    /// `cache_creation_input_token_cost` in USD per token.
    pub fn cache_creation_usd_per_token(&self) -> f64 {
        to_usd(self.cache_creation_input_per_token)
    }
}

/// What a model's provider publishes about it: its price and how many
/// tokens it takes in and gives out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCard {
    pub price: Price,
    pub limits: TokenLimits,
}

/// How many tokens a model takes in and gives out; `None` where unknown (a
/// price file entry may carry a price only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLimits {
    /// Prompt tokens the model accepts (LiteLLM's `max_input_tokens`).
    pub context_window: Option<u64>,
    /// Tokens it generates at most (LiteLLM's `max_output_tokens`).
    pub max_output: Option<u64>,
}

impl TokenLimits {
    /// From LiteLLM's fields, in a price-file entry or a deployment's
    /// `model_info`: `max_input_tokens`, `max_output_tokens`, and the legacy
    /// `max_tokens`, which is the output limit.
    pub fn from_litellm<'a>(field: impl Fn(&str) -> Option<&'a serde_json::Value>) -> Self {
        let count = |key: &str| field(key).and_then(serde_json::Value::as_u64);
        TokenLimits {
            context_window: count("max_input_tokens"),
            max_output: count("max_output_tokens").or_else(|| count("max_tokens")),
        }
    }

    /// Each limit from `self` where known, else from `fallback`.
    pub fn or(self, fallback: TokenLimits) -> TokenLimits {
        TokenLimits {
            context_window: self.context_window.or(fallback.context_window),
            max_output: self.max_output.or(fallback.max_output),
        }
    }
}

/// USD (LiteLLM's float budgets and spend) → picodollars; `None` for
/// negative, non-finite or absurd amounts.
pub fn from_usd(usd: f64) -> Option<Picodollars> {
    (usd.is_finite() && usd >= 0.0 && usd * PICOS_PER_DOLLAR < u64::MAX as f64)
        .then(|| (usd * PICOS_PER_DOLLAR).round() as u64)
}

pub fn to_usd(picos: Picodollars) -> f64 {
    picos as f64 / PICOS_PER_DOLLAR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_exact_integers() {
        // gpt-4o-mini: $0.15 / $0.60 per million tokens.
        let p = builtin("gpt-4o-mini").expect("priced").price;
        assert_eq!(
            p.cost(Tokens::uncached(1_000_000, 1_000_000)),
            750_000_000_000
        );
        assert_eq!(to_usd(p.cost(Tokens::uncached(1_000_000, 1_000_000))), 0.75);
        let custom = Price::from_usd_per_token(1e-6, 2e-6, None).expect("valid");
        assert_eq!(custom.cost(Tokens::uncached(3, 5)), 13_000_000);
        assert!(Price::from_usd_per_token(-1.0, 0.0, None).is_none());
        assert!(Price::from_usd_per_token(1.0, 0.0, Some(f64::NAN)).is_none());
        assert_eq!(
            Price {
                input_per_token: u64::MAX,
                output_per_token: 1,
                cached_input_per_token: 1,
                cache_creation_input_per_token: 1,
            }
            .cost(Tokens::uncached(2, 1)),
            u64::MAX
        );
    }

    #[test]
    fn cached_prompt_tokens_are_charged_at_the_cache_price() {
        // gpt-4o: $2.50 input, $1.25 cached, $10 output per million.
        let p = builtin("gpt-4o").expect("priced").price;
        let tokens = Tokens {
            prompt: 1_000,
            cached: 600,
            completion: 10,
        };
        assert_eq!(
            p.cost(tokens),
            400 * 2_500_000 + 600 * 1_250_000 + 10 * 10_000_000
        );
        // No discount configured: cached tokens cost what input costs.
        let plain = Price::from_usd_per_token(1e-6, 2e-6, None).expect("valid");
        assert_eq!(plain.cost(tokens), plain.cost(Tokens::uncached(1_000, 10)));
        // More cached than prompt (a confused provider): all of it cached.
        let over = Tokens {
            prompt: 5,
            cached: 9,
            completion: 0,
        };
        assert_eq!(p.cost(over), 5 * 1_250_000);
    }

    #[test]
    fn cache_writes_are_charged_at_their_own_price() {
        let p = Price::from_usd_per_token(1e-6, 2e-6, Some(1e-7))
            .and_then(|p| p.with_cache_creation(Some(1.25e-6)))
            .expect("valid");
        // 10 prompt tokens: 3 read from the cache, 4 written to it, 3 plain.
        let tokens = Tokens {
            prompt: 10,
            cached: 3,
            completion: 2,
        };
        assert_eq!(
            p.cost_with_cache_writes(tokens, 4),
            3 * 1_000_000 + 3 * 100_000 + 4 * 1_250_000 + 2 * 2_000_000
        );
        assert_eq!(p.cost_with_cache_writes(tokens, 0), p.cost(tokens));
        // No cache-write price configured: writes cost the input price.
        let plain = Price::from_usd_per_token(1e-6, 2e-6, None).expect("valid");
        assert_eq!(plain.cost_with_cache_writes(tokens, 4), plain.cost(tokens));
        assert!(plain.with_cache_creation(Some(-1.0)).is_none());
    }
}
