//! LiteLLM's `model_prices_and_context_window.json`.

use super::{ModelCard, Price, TokenLimits};

/// Models from a file in LiteLLM's `model_prices_and_context_window.json`
/// format: `{"<model>": {"input_cost_per_token": 2.5e-06,
/// "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
/// "max_input_tokens": 128000, "max_output_tokens": 16384, …}, …}`.
/// Entries without token prices (images, audio, `sample_spec`) are skipped.
pub fn parse_price_map(
    json: &str,
) -> Result<std::collections::BTreeMap<String, ModelCard>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON object of models: {e}"))?;
    Ok(map
        .into_iter()
        .filter_map(|(model, entry)| {
            let number = |field: &str| entry.get(field).and_then(serde_json::Value::as_f64);
            let price = Price::from_usd_per_token(
                number("input_cost_per_token")?,
                number("output_cost_per_token").unwrap_or(0.0),
                number("cache_read_input_token_cost"),
            )?
            .with_cache_creation(number("cache_creation_input_token_cost"))?;
            let card = ModelCard {
                price,
                limits: TokenLimits::from_litellm(|field| entry.get(field)),
            };
            Some((model, card))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_litellm_price_files() {
        let map = parse_price_map(
            r#"{"sample_spec": {"max_tokens": "LEGACY"},
                "my-ft": {"input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06, "litellm_provider": "openai"},
                "cached-ft": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
                              "cache_read_input_token_cost": 5e-07, "max_input_tokens": 1000, "max_output_tokens": 100},
                "legacy": {"input_cost_per_token": 1e-06, "max_tokens": 4096},
                "dall-e-3": {"output_cost_per_pixel": 0.0}}"#,
        )
        .expect("valid");
        assert_eq!(map.len(), 3);
        assert_eq!(
            map["my-ft"],
            ModelCard {
                price: Price {
                    input_per_token: 3_000_000,
                    output_per_token: 4_000_000,
                    cached_input_per_token: 3_000_000,
                    cache_creation_input_per_token: 3_000_000,
                },
                limits: TokenLimits::default(),
            }
        );
        assert_eq!(
            map["cached-ft"],
            ModelCard {
                price: Price {
                    input_per_token: 2_000_000,
                    output_per_token: 8_000_000,
                    cached_input_per_token: 500_000,
                    cache_creation_input_per_token: 2_000_000,
                },
                limits: TokenLimits {
                    context_window: Some(1000),
                    max_output: Some(100),
                },
            }
        );
        assert_eq!(map["legacy"].limits.max_output, Some(4096));
        assert_eq!(map["legacy"].price.output_per_token, 0);
        assert!(parse_price_map("[1, 2]").is_err());
    }
}
