//! `GET /model_group/info` (and `/v1/model_group/info`): one entry per
//! model group a caller may use, in LiteLLM's `ModelGroupInfo` shape —
//! what UIs and SDK helpers read to list models with their limits and
//! prices. A group's figures combine its deployments as LiteLLM's router
//! does: providers listed once each, the largest token limits and prices,
//! `tpm` / `rpm` summed.

use super::AppState;
use super::auth::served_caller;
use crate::http::extract::ApiQuery;
use crate::runtime::Deployment;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct GroupQuery {
    /// LiteLLM's filter: one group by name.
    model_group: Option<String>,
}

pub async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<GroupQuery>,
) -> Response {
    let (runtime, caller) = match served_caller(&app, &headers) {
        Ok(served) => served,
        Err(e) => return e.into_response(),
    };
    // In the config's order, each group where it first appears, as
    // LiteLLM lists them.
    let mut groups: Vec<(&str, Vec<&Arc<Deployment>>)> = Vec::new();
    for d in runtime.deployments() {
        if !caller.may_use(&d.model_name)
            || query
                .model_group
                .as_deref()
                .is_some_and(|g| g != d.model_name)
        {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| *name == d.model_name) {
            Some((_, members)) => members.push(d),
            None => groups.push((d.model_name.as_str(), vec![d])),
        }
    }
    let data: Vec<Value> = groups
        .into_iter()
        .map(|(name, deployments)| describe(name, &deployments))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// The capability flags LiteLLM's entry carries; a deployment's
/// `model_info` may set them, and they are false otherwise.
const FLAGS: [&str; 7] = [
    "supports_parallel_function_calling",
    "supports_vision",
    "supports_web_search",
    "supports_url_context",
    "supports_reasoning",
    "supports_function_calling",
    "supports_fast_mode",
];

fn describe(name: &str, deployments: &[&Arc<Deployment>]) -> Value {
    let mut providers: Vec<&str> = Vec::new();
    for d in deployments {
        if !providers.contains(&d.provider) {
            providers.push(d.provider);
        }
    }
    let max = |f: &dyn Fn(&Deployment) -> Option<f64>| {
        deployments
            .iter()
            .filter_map(|d| f(d))
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            })
    };
    let sum = |f: &dyn Fn(&Deployment) -> Option<u64>| {
        deployments
            .iter()
            .filter_map(|d| f(d))
            .fold(None, |acc: Option<u64>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    let whole = |v: Option<f64>| v.map(|v| json!(v as u64));
    let mut entry = Map::new();
    entry.insert("model_group".into(), name.into());
    entry.insert("providers".into(), json!(providers));
    entry.insert(
        "max_input_tokens".into(),
        json!(whole(max(&|d| d
            .token_limits
            .context_window
            .map(|t| t as f64)))),
    );
    entry.insert(
        "max_output_tokens".into(),
        json!(whole(max(&|d| d.token_limits.max_output.map(|t| t as f64)))),
    );
    entry.insert(
        "input_cost_per_token".into(),
        json!(max(&|d| d.price.map(|p| p.to_usd_per_token().0))),
    );
    entry.insert(
        "output_cost_per_token".into(),
        json!(max(&|d| d.price.map(|p| p.to_usd_per_token().1))),
    );
    entry.insert("input_cost_per_pixel".into(), Value::Null);
    let mode = deployments
        .iter()
        .find_map(|d| d.config.model_info.mode.clone());
    entry.insert("mode".into(), json!(mode));
    entry.insert("tpm".into(), json!(sum(&|d| d.tpm)));
    entry.insert("rpm".into(), json!(sum(&|d| d.rpm)));
    // LiteLLM's per-direction token limits; Tollgate limits tokens as one.
    entry.insert("itpm".into(), Value::Null);
    entry.insert("otpm".into(), Value::Null);
    for flag in FLAGS {
        let on = deployments.iter().any(|d| {
            d.config
                .model_info_extra
                .get(flag)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        });
        entry.insert(flag.into(), on.into());
    }
    entry.insert("supported_reasoning_efforts".into(), json!([]));
    entry.insert("supported_openai_params".into(), json!([]));
    entry.insert("configurable_clientside_auth_params".into(), Value::Null);
    entry.insert("is_public_model_group".into(), false.into());
    // Health is on `/health` (every deployment probed on request).
    for field in ["health_status", "health_response_time", "health_checked_at"] {
        entry.insert(field.into(), Value::Null);
    }
    Value::Object(entry)
}
