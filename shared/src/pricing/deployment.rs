//! A deployment's own word on its price and token limits. LiteLLM lets
//! `litellm_params` (custom pricing) and `model_info` override the cost map;
//! the control plane and the data plane read them through this one place so
//! the warning at load and the charge at serve time agree.

use super::{ModelCard, Price, TokenLimits, from_usd};
use crate::config::LitellmParams;
use serde_json::Value;
use std::collections::BTreeMap;

/// The cost fields LiteLLM reads from a deployment, in USD per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostField {
    Input,
    Output,
    CachedInput,
    CacheCreation,
}

impl CostField {
    pub const ALL: [CostField; 4] = [
        CostField::Input,
        CostField::Output,
        CostField::CachedInput,
        CostField::CacheCreation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CostField::Input => "input_cost_per_token",
            CostField::Output => "output_cost_per_token",
            CostField::CachedInput => "cache_read_input_token_cost",
            CostField::CacheCreation => "cache_creation_input_token_cost",
        }
    }

    fn in_params(self, params: &LitellmParams) -> Option<f64> {
        match self {
            CostField::Input => params.input_cost_per_token,
            CostField::Output => params.output_cost_per_token,
            CostField::CachedInput => params.cache_read_input_token_cost,
            CostField::CacheCreation => params.cache_creation_input_token_cost,
        }
    }
}

/// LiteLLM's per-unit prices (USD per image, character, second, query),
/// read by the data plane's image, audio and rerank routes: a deployment
/// setting one is priced, even without a token price.
pub const UNIT_COST_FIELDS: [&str; 5] = [
    "output_cost_per_image",
    "input_cost_per_character",
    "input_cost_per_second",
    "output_cost_per_second",
    "input_cost_per_query",
];

/// A cost a deployment sets that no price can be made of.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{value}` is not a price: {field} must be a non-negative number of USD per token")]
pub struct InvalidCost {
    /// `litellm_params.input_cost_per_token`, `model_info.…`.
    pub field: String,
    pub value: String,
}

/// What one deployment's config overrides. `litellm_params` wins over
/// `model_info`, field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentOverrides {
    costs: [Option<f64>; 4],
    limits: TokenLimits,
}

impl DeploymentOverrides {
    pub fn of(
        params: &LitellmParams,
        model_info: &BTreeMap<String, Value>,
    ) -> Result<DeploymentOverrides, InvalidCost> {
        let mut costs = [None; 4];
        for (slot, field) in costs.iter_mut().zip(CostField::ALL) {
            *slot = match (field.in_params(params), model_info.get(field.name())) {
                (Some(usd), _) => Some(checked(usd, "litellm_params", field, &usd)?),
                (None, Some(Value::Null) | None) => None,
                (None, Some(value)) => {
                    let usd = value.as_f64().ok_or_else(|| InvalidCost {
                        field: format!("model_info.{}", field.name()),
                        value: value.to_string(),
                    })?;
                    Some(checked(usd, "model_info", field, value)?)
                }
            };
        }
        Ok(DeploymentOverrides {
            costs,
            limits: TokenLimits::from_litellm(|key| model_info.get(key)),
        })
    }

    /// Whether the deployment prices itself, so no table or file is asked.
    pub fn sets_price(&self) -> bool {
        self.costs.iter().any(Option::is_some)
    }

    /// The deployment's own price when it sets any cost: an unset input or
    /// output cost is 0 (LiteLLM's custom pricing), an unset cache-read
    /// cost is the input cost.
    pub fn price(&self) -> Option<Price> {
        if !self.sets_price() {
            return None;
        }
        let [input, output, cached, writes] = self.costs;
        Price::from_usd_per_token(input.unwrap_or(0.0), output.unwrap_or(0.0), cached)?
            .with_cache_creation(writes)
    }

    /// `looked_up` (the table's or the price file's card) with this
    /// deployment's overrides applied: the price (`None` when neither knows
    /// one) and the token limits, field by field.
    pub fn over(&self, looked_up: Option<ModelCard>) -> (Option<Price>, TokenLimits) {
        let price = self.price().or(looked_up.map(|c| c.price));
        let limits = self
            .limits
            .or(looked_up.map(|c| c.limits).unwrap_or_default());
        (price, limits)
    }
}

fn checked(
    usd: f64,
    section: &str,
    field: CostField,
    shown: &dyn std::fmt::Display,
) -> Result<f64, InvalidCost> {
    match from_usd(usd) {
        Some(_) => Ok(usd),
        None => Err(InvalidCost {
            field: format!("{section}.{}", field.name()),
            value: shown.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).expect("object")
    }

    #[test]
    fn litellm_params_win_over_model_info_field_by_field() {
        let params = LitellmParams {
            input_cost_per_token: Some(2e-6),
            ..LitellmParams::default()
        };
        let o = DeploymentOverrides::of(
            &params,
            &info(json!({"input_cost_per_token": 9e-6, "output_cost_per_token": 4e-6,
                         "cache_read_input_token_cost": 5e-7, "max_input_tokens": 1000, "max_tokens": 50})),
        )
        .expect("valid");
        assert_eq!(
            o.price(),
            Some(Price {
                input_per_token: 2_000_000,
                output_per_token: 4_000_000,
                cached_input_per_token: 500_000,
                cache_creation_input_per_token: 2_000_000,
            })
        );
        assert_eq!(
            o.over(None).1,
            TokenLimits {
                context_window: Some(1000),
                max_output: Some(50)
            }
        );
    }

    #[test]
    fn own_prices_replace_the_looked_up_one_whole_and_limits_fill_in() {
        let looked_up = super::super::builtin("gpt-4o");
        let params = LitellmParams {
            input_cost_per_token: Some(1e-6),
            ..LitellmParams::default()
        };
        let o = DeploymentOverrides::of(&params, &BTreeMap::new()).expect("valid");
        let (price, limits) = o.over(looked_up);
        // Custom pricing without a cache-read cost charges cached tokens at
        // the custom input price, not the table's discount.
        assert_eq!(
            price,
            Some(Price {
                input_per_token: 1_000_000,
                output_per_token: 0,
                cached_input_per_token: 1_000_000,
                cache_creation_input_per_token: 1_000_000,
            })
        );
        assert_eq!(limits.context_window, Some(128_000));
        let none = DeploymentOverrides::default();
        let card = looked_up.expect("gpt-4o is in the table");
        assert_eq!(none.over(looked_up), (Some(card.price), card.limits));
        assert_eq!(none.over(None), (None, TokenLimits::default()));
    }

    #[test]
    fn a_cost_that_is_no_price_is_refused_with_its_field() {
        let params = LitellmParams {
            output_cost_per_token: Some(-1.0),
            ..LitellmParams::default()
        };
        let err = DeploymentOverrides::of(&params, &BTreeMap::new()).expect_err("negative");
        assert_eq!(err.field, "litellm_params.output_cost_per_token");
        let err = DeploymentOverrides::of(
            &LitellmParams::default(),
            &info(json!({"cache_read_input_token_cost": "cheap"})),
        )
        .expect_err("a string");
        assert_eq!(err.field, "model_info.cache_read_input_token_cost");
        assert!(err.to_string().contains("\"cheap\""), "{err}");
    }
}
