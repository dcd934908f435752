//! Prices for deployments that do not set their own: from a price file in
//! LiteLLM's `model_prices_and_context_window.json` format
//! (`litellm_settings.model_cost_map`, a path or an http(s) URL), else the
//! built-in table. Resolved here, at config load, so data planes only see
//! per-deployment prices; a deployment nobody can price is warned about by
//! name instead of silently costing nothing.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tollgate_shared::config::ConfigWarning;
use tollgate_shared::pricing::{self, DeploymentOverrides, ModelCard};
use tollgate_shared::snapshot::Snapshot;

pub type PriceMap = BTreeMap<String, ModelCard>;

/// Reads and parses the price file; the error says which source and why.
pub async fn load(source: &str) -> Result<PriceMap, String> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot fetch {source}: {e}"))?;
        let response = client
            .get(source)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("cannot fetch {source}: {e}"))?;
        response
            .text()
            .await
            .map_err(|e| format!("cannot read {source}: {e}"))?
    } else {
        let path = source.to_string();
        tokio::task::spawn_blocking(move || std::fs::read_to_string(&path))
            .await
            .map_err(|e| format!("cannot read {source}: {e}"))?
            .map_err(|e| format!("cannot read {source}: {e}"))?
    };
    pricing::parse_price_map(&text).map_err(|e| format!("{source}: {e}"))
}

/// Which version of the price file `source` is: a file's modification
/// time; `None` for a URL (fetched once per process) or an unreadable file.
pub async fn version(source: &str) -> Option<std::time::SystemTime> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return None;
    }
    tokio::fs::metadata(source).await.ok()?.modified().ok()
}

/// Fills what a deployment does not set itself from `map` (by
/// `model_info.base_model`, then the model as written, then the provider's
/// model name): its price, cached-input price and token limits. Warns about
/// deployments nobody can price.
pub fn apply(snapshot: &mut Snapshot, map: Option<&PriceMap>) -> Vec<ConfigWarning> {
    let mut warnings = Vec::new();
    for (i, d) in snapshot.deployments.iter_mut().enumerate() {
        // Config load rejected invalid costs; what is left is valid.
        let own = DeploymentOverrides::of(&d.params, &d.model_info_extra)
            .is_ok_and(|o| o.sets_price())
            || d.params.mock_response.is_some();
        let per_unit = pricing::UNIT_COST_FIELDS
            .iter()
            .any(|f| d.extra_params.contains_key(*f) || d.model_info_extra.contains_key(*f));
        let base = d.model_info.base_model.clone();
        let candidates = [
            base.clone(),
            base.as_deref()
                .and_then(|b| b.rsplit_once('/'))
                .map(|(_, m)| m.to_string()),
            Some(d.params.model.clone()),
            Some(d.upstream_model.clone()),
        ];
        if let Some(card) = map.and_then(|m| candidates.iter().flatten().find_map(|c| m.get(c))) {
            fill_limits(&mut d.model_info_extra, card);
            if !own {
                let (input, output, cached) = card.price.to_usd_per_token();
                d.params.input_cost_per_token = Some(input);
                d.params.output_cost_per_token = Some(output);
                d.params.cache_read_input_token_cost = Some(cached);
                d.params.cache_creation_input_token_cost =
                    Some(card.price.cache_creation_usd_per_token());
            }
            continue;
        }
        let builtin = candidates
            .iter()
            .flatten()
            .any(|c| pricing::builtin(c.rsplit('/').next().unwrap_or(c)).is_some());
        if !own && !builtin && !per_unit {
            warnings.push(ConfigWarning {
                path: format!("model_list[{i}].litellm_params.model"),
                message: format!(
                    "no price known for `{}` (model group `{}`): its requests are recorded with cost 0 and flagged cost_known=false. Set input_cost_per_token / output_cost_per_token, model_info.base_model, or litellm_settings.model_cost_map.",
                    d.params.model, d.model_name
                ),
            });
        }
    }
    warnings
}

/// The file's context window and output limit, where `model_info` states
/// neither (LiteLLM's legacy `max_tokens` counts as the output limit).
fn fill_limits(model_info: &mut BTreeMap<String, Value>, card: &ModelCard) {
    if let Some(window) = card.limits.context_window {
        model_info
            .entry("max_input_tokens".into())
            .or_insert(window.into());
    }
    if let Some(most) = card.limits.max_output
        && !model_info.contains_key("max_tokens")
    {
        model_info
            .entry("max_output_tokens".into())
            .or_insert(most.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::config;

    #[test]
    fn the_file_prices_what_has_no_price_and_the_rest_is_warned_about() {
        let yaml = "model_list:\n  - model_name: ft\n    litellm_params: {model: openai/my-ft}\n  - model_name: known\n    litellm_params: {model: openai/gpt-4o-mini}\n  - model_name: own\n    litellm_params: {model: openai/x, input_cost_per_token: 1.0e-6}\n  - model_name: nobody\n    litellm_params: {model: openai/nobody-knows}\n  - model_name: images\n    litellm_params: {model: openai/my-painter, output_cost_per_image: 0.04}\n";
        let loaded = config::load(yaml, &BTreeMap::new()).expect("valid");
        let mut snapshot = Snapshot::from_config(&loaded);
        let map = pricing::parse_price_map(
            r#"{"my-ft": {"input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06, "cache_read_input_token_cost": 1e-06},
                "x": {"input_cost_per_token": 9e-06, "max_input_tokens": 4096}}"#,
        )
        .expect("valid");
        let warnings = apply(&mut snapshot, Some(&map));
        assert_eq!(
            snapshot.deployments[0].params.input_cost_per_token,
            Some(3e-6)
        );
        assert_eq!(
            snapshot.deployments[0].params.output_cost_per_token,
            Some(4e-6)
        );
        assert_eq!(snapshot.deployments[1].params.input_cost_per_token, None);
        // The file's limits fill model_info; a deployment with its own price
        // keeps it.
        assert_eq!(
            snapshot.deployments[2]
                .model_info_extra
                .get("max_input_tokens"),
            Some(&Value::from(4096))
        );
        assert_eq!(
            snapshot.deployments[2].params.input_cost_per_token,
            Some(1e-6)
        );
        assert_eq!(
            snapshot.deployments[2].params.cache_read_input_token_cost,
            None
        );
        assert_eq!(
            snapshot.deployments[0].params.cache_read_input_token_cost,
            Some(1e-6)
        );
        // A per-unit price (images) prices the deployment too.
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("nobody-knows"));
        assert_eq!(warnings[0].path, "model_list[3].litellm_params.model");
    }
}
