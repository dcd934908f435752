//! LiteLLM's per-unit prices, from a deployment's `litellm_params` (else
//! its `model_info`): `output_cost_per_image`, `input_cost_per_character`
//! (speech), `input_cost_per_second` / `output_cost_per_second` (audio),
//! `input_cost_per_query` (rerank). USD per unit, kept as picodollars.

use crate::runtime::Deployment;
use tollgate_shared::pricing::{Picodollars, from_usd};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Image,
    Character,
    InputSecond,
    Query,
}

impl Unit {
    pub fn field(self) -> &'static str {
        match self {
            Unit::Image => "output_cost_per_image",
            Unit::Character => "input_cost_per_character",
            Unit::InputSecond => "input_cost_per_second",
            Unit::Query => "input_cost_per_query",
        }
    }
}

/// Picodollars per unit, when the deployment sets the price (a negative or
/// non-numeric one prices nothing).
pub fn per_unit(deployment: &Deployment, unit: Unit) -> Option<Picodollars> {
    let config = &deployment.config;
    let field = unit.field();
    let usd = config
        .extra_params
        .get(field)
        .or_else(|| config.model_info_extra.get(field))
        .and_then(serde_json::Value::as_f64)?;
    from_usd(usd)
}

/// `count` units (fractional for seconds) at `per_unit`, rounded to the
/// picodollar.
pub fn cost(per_unit: Picodollars, count: f64) -> Picodollars {
    if !count.is_finite() || count <= 0.0 {
        return 0;
    }
    let total = per_unit as f64 * count;
    if total >= u64::MAX as f64 {
        u64::MAX
    } else {
        total.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_units_round_to_the_picodollar() {
        assert_eq!(cost(100_000_000, 2.5), 250_000_000);
        assert_eq!(cost(3, 0.5), 2);
        assert_eq!(cost(7, -1.0), 0);
        assert_eq!(cost(7, f64::NAN), 0);
        assert_eq!(cost(u64::MAX, 2.0), u64::MAX);
    }
}
