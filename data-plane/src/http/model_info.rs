//! `GET /model/info` (and `/v1/model/info`): every deployment a caller may
//! use, in LiteLLM's shape — `model_name`, `litellm_params` without any
//! credential, and `model_info` with what the cost map knows (prices,
//! context window, output limit) merged under the config's own fields.

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

#[derive(Deserialize)]
pub struct InfoQuery {
    /// LiteLLM's filter: one deployment by id.
    litellm_model_id: Option<String>,
}

pub async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InfoQuery>,
) -> Response {
    let (runtime, caller) = match served_caller(&app, &headers) {
        Ok(served) => served,
        Err(e) => return e.into_response(),
    };
    let data: Vec<Value> = runtime
        .deployments()
        .iter()
        .filter(|d| caller.may_use(&d.model_name))
        .filter(|d| query.litellm_model_id.as_ref().is_none_or(|id| *id == d.id))
        .map(|d| describe(d))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// `litellm_params` keys shown: everything that tunes routing and pricing.
/// Credentials (`api_key`, `aws_*` secrets) and default request parameters
/// (which may carry `extra_headers` with tokens) never are.
const SHOWN_PARAMS: [&str; 15] = [
    "model",
    "api_base",
    "api_version",
    "rpm",
    "tpm",
    "weight",
    "order",
    "timeout",
    "stream_timeout",
    "max_retries",
    "num_retries",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "aws_region_name",
];

fn describe(d: &Deployment) -> Value {
    let config = &d.config;
    let params = match serde_json::to_value(&config.params) {
        Ok(Value::Object(all)) => all
            .into_iter()
            .filter(|(k, v)| SHOWN_PARAMS.contains(&k.as_str()) && !v.is_null())
            .collect(),
        _ => Map::new(),
    };
    // The cost map's view first, so the config's own model_info wins.
    let mut info = Map::new();
    if let Some(price) = d.price {
        let (input, output, cached) = price.to_usd_per_token();
        info.insert("input_cost_per_token".into(), input.into());
        info.insert("output_cost_per_token".into(), output.into());
        info.insert("cache_read_input_token_cost".into(), cached.into());
        info.insert(
            "cache_creation_input_token_cost".into(),
            price.cache_creation_usd_per_token().into(),
        );
    }
    let limits = d.token_limits;
    info.insert("max_input_tokens".into(), limits.context_window.into());
    info.insert("max_output_tokens".into(), limits.max_output.into());
    info.insert("max_tokens".into(), limits.max_output.into());
    info.insert("litellm_provider".into(), d.provider.into());
    info.insert("key".into(), d.upstream_model.as_str().into());
    info.insert("db_model".into(), false.into());
    info.insert("cost_known".into(), d.price.is_some().into());
    for (k, v) in &config.model_info_extra {
        info.insert(k.clone(), v.clone());
    }
    info.insert("id".into(), d.id.as_str().into());
    info.insert("mode".into(), config.model_info.mode.clone().into());
    info.insert(
        "base_model".into(),
        config.model_info.base_model.clone().into(),
    );
    json!({
        "model_name": d.model_name,
        "litellm_params": params,
        "model_info": info,
    })
}
