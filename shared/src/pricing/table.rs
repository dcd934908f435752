//! The built-in prices and limits of the models people use.

use super::{ModelCard, Picodollars, Price, TokenLimits};

/// One row of the built-in table. Prices are in picodollars per token,
/// which is also USD per million million tokens: `2_500_000` is $2.50 per
/// million tokens.
const fn card(
    input: Picodollars,
    output: Picodollars,
    cached_input: Picodollars,
    context_window: u64,
    max_output: u64,
) -> ModelCard {
    ModelCard {
        price: Price {
            input_per_token: input,
            output_per_token: output,
            cached_input_per_token: cached_input,
            cache_creation_input_per_token: input,
        },
        limits: TokenLimits {
            context_window: Some(context_window),
            max_output: Some(max_output),
        },
    }
}

/// A model whose provider has no prompt-cache discount.
const fn uncached(
    input: Picodollars,
    output: Picodollars,
    context: u64,
    max_output: u64,
) -> ModelCard {
    card(input, output, input, context, max_output)
}

/// An Anthropic model: prompt-cache writes cost 1.25 times the input price
/// (the 5-minute cache, LiteLLM's `cache_creation_input_token_cost`).
const fn claude(
    input: Picodollars,
    output: Picodollars,
    cached_input: Picodollars,
    context_window: u64,
    max_output: u64,
) -> ModelCard {
    let mut card = card(input, output, cached_input, context_window, max_output);
    card.price.cache_creation_input_per_token = input / 4 * 5;
    card
}

/// An embedding model: input only, nothing generated.
const fn embedding(input: Picodollars, context: u64) -> ModelCard {
    card(input, 0, input, context, 0)
}

const K128: u64 = 128_000;
const K200: u64 = 200_000;
const M1: u64 = 1_048_576;
const GPT_4_1_CONTEXT: u64 = 1_047_576;
const GPT_5_CONTEXT: u64 = 272_000;

/// Public list prices and limits, by model name prefix. Longest matching
/// prefix wins, so dated versions (`gpt-4o-2024-08-06`) find their family.
const TABLE: &[(&str, ModelCard)] = &[
    (
        "gpt-5",
        card(1_250_000, 10_000_000, 125_000, GPT_5_CONTEXT, K128),
    ),
    (
        "gpt-5-mini",
        card(250_000, 2_000_000, 25_000, GPT_5_CONTEXT, K128),
    ),
    (
        "gpt-5-nano",
        card(50_000, 400_000, 5_000, GPT_5_CONTEXT, K128),
    ),
    ("gpt-4o-mini", card(150_000, 600_000, 75_000, K128, 16_384)),
    (
        "gpt-4o",
        card(2_500_000, 10_000_000, 1_250_000, K128, 16_384),
    ),
    (
        "gpt-4.1-nano",
        card(100_000, 400_000, 25_000, GPT_4_1_CONTEXT, 32_768),
    ),
    (
        "gpt-4.1-mini",
        card(400_000, 1_600_000, 100_000, GPT_4_1_CONTEXT, 32_768),
    ),
    (
        "gpt-4.1",
        card(2_000_000, 8_000_000, 500_000, GPT_4_1_CONTEXT, 32_768),
    ),
    ("gpt-4-turbo", uncached(10_000_000, 30_000_000, K128, 4_096)),
    ("gpt-4", uncached(30_000_000, 60_000_000, 8_192, 4_096)),
    ("gpt-3.5-turbo", uncached(500_000, 1_500_000, 16_385, 4_096)),
    ("o1-mini", card(1_100_000, 4_400_000, 550_000, K128, 65_536)),
    ("o1", card(15_000_000, 60_000_000, 7_500_000, K200, 100_000)),
    (
        "o3-mini",
        card(1_100_000, 4_400_000, 550_000, K200, 100_000),
    ),
    ("o3", card(2_000_000, 8_000_000, 500_000, K200, 100_000)),
    (
        "o4-mini",
        card(1_100_000, 4_400_000, 275_000, K200, 100_000),
    ),
    ("text-embedding-3-small", embedding(20_000, 8_191)),
    ("text-embedding-3-large", embedding(130_000, 8_191)),
    ("text-embedding-ada-002", embedding(100_000, 8_191)),
    // Anthropic bills cache reads at a tenth of the input price.
    (
        "claude-3-5-sonnet",
        claude(3_000_000, 15_000_000, 300_000, K200, 8_192),
    ),
    (
        "claude-3-7-sonnet",
        claude(3_000_000, 15_000_000, 300_000, K200, 64_000),
    ),
    (
        "claude-sonnet-4",
        claude(3_000_000, 15_000_000, 300_000, K200, 64_000),
    ),
    (
        "claude-3-5-haiku",
        claude(800_000, 4_000_000, 80_000, K200, 8_192),
    ),
    (
        "claude-3-haiku",
        claude(250_000, 1_250_000, 30_000, K200, 4_096),
    ),
    (
        "claude-3-opus",
        claude(15_000_000, 75_000_000, 1_500_000, K200, 4_096),
    ),
    (
        "claude-opus-4",
        claude(15_000_000, 75_000_000, 1_500_000, K200, 32_000),
    ),
    (
        "claude-opus-4-5",
        claude(5_000_000, 25_000_000, 500_000, K200, 64_000),
    ),
    (
        "claude-haiku-4-5",
        claude(1_000_000, 5_000_000, 100_000, K200, 64_000),
    ),
    (
        "gemini-2.0-flash-lite",
        uncached(75_000, 300_000, M1, 8_192),
    ),
    (
        "gemini-2.5-flash-lite",
        card(100_000, 400_000, 25_000, M1, 65_535),
    ),
    ("gemini-embedding-001", embedding(150_000, 2_048)),
    (
        "gemini-1.5-pro",
        card(1_250_000, 5_000_000, 312_500, 2_097_152, 8_192),
    ),
    ("gemini-1.5-flash", card(75_000, 300_000, 18_750, M1, 8_192)),
    (
        "gemini-2.0-flash",
        card(100_000, 400_000, 25_000, M1, 8_192),
    ),
    (
        "gemini-2.5-pro",
        card(1_250_000, 10_000_000, 312_500, M1, 65_535),
    ),
    (
        "gemini-2.5-flash",
        card(300_000, 2_500_000, 75_000, M1, 65_535),
    ),
    ("mistral-large", uncached(2_000_000, 6_000_000, K128, K128)),
    ("mistral-small", uncached(200_000, 600_000, 32_000, 8_191)),
    ("mistral-embed", embedding(100_000, 8_192)),
    ("mistral-medium", uncached(400_000, 2_000_000, K128, 8_191)),
    ("codestral", uncached(300_000, 900_000, 256_000, 8_191)),
    ("open-mistral-nemo", uncached(150_000, 150_000, K128, K128)),
    // Groq.
    ("llama3-70b-8192", uncached(590_000, 790_000, 8_192, 8_192)),
    ("llama3-8b-8192", uncached(50_000, 80_000, 8_192, 8_192)),
    ("gemma2-9b-it", uncached(200_000, 200_000, 8_192, 8_192)),
    (
        "mixtral-8x7b-32768",
        uncached(240_000, 240_000, 32_768, 32_768),
    ),
    (
        "llama-3.3-70b-versatile",
        uncached(590_000, 790_000, K128, 32_768),
    ),
    (
        "llama-3.1-8b-instant",
        uncached(50_000, 80_000, K128, 8_192),
    ),
    (
        "deepseek-chat",
        card(270_000, 1_100_000, 70_000, 65_536, 8_192),
    ),
    (
        "deepseek-reasoner",
        card(550_000, 2_190_000, 140_000, 65_536, 8_192),
    ),
    // Bedrock's own models (its Claude ids find Anthropic's rows, at the
    // same prices).
    ("amazon.titan-embed-text", embedding(20_000, 8_192)),
    (
        "amazon.nova-pro",
        card(800_000, 3_200_000, 200_000, 300_000, 10_000),
    ),
    (
        "amazon.nova-lite",
        card(60_000, 240_000, 15_000, 300_000, 10_000),
    ),
    (
        "amazon.nova-micro",
        card(35_000, 140_000, 8_750, K128, 10_000),
    ),
    (
        "meta.llama3-1-70b-instruct",
        uncached(990_000, 990_000, K128, 2_048),
    ),
    (
        "meta.llama3-1-8b-instruct",
        uncached(220_000, 220_000, K128, 2_048),
    ),
    (
        "mistral.mistral-large",
        uncached(4_000_000, 12_000_000, 32_000, 8_191),
    ),
    ("cohere.embed-english-v3", embedding(100_000, 512)),
];

/// Cross-region inference profiles prefix Bedrock model ids.
const BEDROCK_REGIONS: [&str; 5] = ["us.", "eu.", "apac.", "us-gov.", "global."];

/// The built-in card of `model` (provider prefix already stripped).
pub fn builtin(model: &str) -> Option<ModelCard> {
    // Bedrock ids carry a region prefix and a vendor
    // (`us.anthropic.claude-…`); Claude costs the same there.
    let model = BEDROCK_REGIONS
        .iter()
        .find_map(|region| model.strip_prefix(region))
        .unwrap_or(model);
    let model = model.strip_prefix("anthropic.").unwrap_or(model);
    TABLE
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, card)| *card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mini = builtin("gpt-4o-mini-2024-07-18").expect("priced");
        assert_eq!(mini.price.input_per_token, 150_000);
        assert_eq!(mini.limits.max_output, Some(16_384));
        let four_o = builtin("gpt-4o-2024-08-06").expect("priced");
        assert_eq!(four_o.price.input_per_token, 2_500_000);
        let bedrock = builtin("us.anthropic.claude-3-5-sonnet-20240620-v1:0").expect("priced");
        assert_eq!(bedrock.price.output_per_token, 15_000_000);
        assert_eq!(bedrock.limits.context_window, Some(K200));
        assert_eq!(builtin("my-finetune"), None);
        let haiku = builtin("apac.anthropic.claude-3-haiku-20240307-v1:0").expect("priced");
        assert_eq!(haiku, builtin("claude-3-haiku-20240307").expect("priced"));
        let five = builtin("gpt-5-mini-2025-08-07").expect("priced");
        assert_eq!(five.price.cached_input_per_token, 25_000);
    }

    #[test]
    fn every_builtin_row_is_consistent() {
        for (prefix, card) in TABLE {
            let p = card.price;
            assert!(
                p.cached_input_per_token <= p.input_per_token,
                "{prefix}: a cache read dearer than input"
            );
            assert!(p.input_per_token > 0, "{prefix}: free input");
            assert!(
                card.limits.context_window.is_some_and(|w| w > 0),
                "{prefix}"
            );
        }
    }
}
