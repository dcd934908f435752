//! Typed view of the config file. Field names are LiteLLM's. Keys that are
//! valid LiteLLM but not listed here are kept in the raw sections and
//! reported as "no effect in Tollgate yet".

use crate::secret::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct LiteLlmConfig {
    #[serde(default)]
    pub model_list: Vec<ModelEntry>,
    #[serde(default)]
    pub general_settings: GeneralSettings,
    #[serde(default)]
    pub router_settings: RouterSettings,
    #[serde(default)]
    pub litellm_settings: LitellmSettings,
    /// Set in the process environment before `os.environ/` is resolved, as
    /// LiteLLM does.
    #[serde(default)]
    pub environment_variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ModelEntry {
    pub model_name: String,
    pub litellm_params: LitellmParams,
    #[serde(default)]
    pub model_info: ModelInfo,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct LitellmParams {
    /// `provider/model`, e.g. `openai/gpt-4o`.
    pub model: String,
    pub api_key: Option<SecretString>,
    pub api_base: Option<String>,
    pub api_version: Option<String>,
    pub organization: Option<String>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub weight: Option<f64>,
    pub order: Option<u32>,
    /// Seconds.
    pub timeout: Option<f64>,
    /// Seconds to the first chunk of a stream.
    pub stream_timeout: Option<f64>,
    /// LiteLLM hands it to the provider SDK, whose retries a routed call
    /// turns off: read so it is never forwarded, no effect (see
    /// `settings.rs`).
    pub max_retries: Option<u32>,
    /// Retries after this deployment fails, instead of the router's
    /// `num_retries` (the router reads it; see `router/attempt.rs`).
    pub num_retries: Option<u32>,
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    /// USD per prompt token served from the provider's prompt cache;
    /// unset, cached tokens cost the input price.
    pub cache_read_input_token_cost: Option<f64>,
    /// USD per prompt token written to the provider's prompt cache
    /// (Anthropic's `cache_creation_input_tokens`); unset, writes cost the
    /// input price.
    pub cache_creation_input_token_cost: Option<f64>,
    /// Answer locally with this text instead of calling the provider.
    pub mock_response: Option<String>,
    pub drop_params: Option<bool>,
    pub aws_access_key_id: Option<SecretString>,
    pub aws_secret_access_key: Option<SecretString>,
    pub aws_session_token: Option<SecretString>,
    pub aws_region_name: Option<String>,
    /// Every other key, as written. LiteLLM's own settings among them
    /// (`tags`, `region_name`, … — the list in `settings.rs`) never leave
    /// the gateway; the rest are the provider's default request parameters
    /// (`temperature`, `extra_headers`, …). Filled from the raw section after
    /// typed parsing, so typed errors keep their line.
    #[serde(skip)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ModelInfo {
    /// Deployment id; generated (stable across reloads) when absent.
    pub id: Option<String>,
    pub mode: Option<String>,
    pub base_model: Option<String>,
    /// Every other key (`max_tokens`, `supports_*`, costs, …), kept verbatim.
    #[serde(skip)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct GeneralSettings {
    pub master_key: Option<SecretString>,
    pub database_url: Option<SecretString>,
    pub database_connection_pool_limit: Option<u32>,
    /// The HTTP status of a budget refusal (Tollgate's key): 429 unless
    /// set; any 4xx, e.g. 400 for clients written against LiteLLM
    /// versions that answered budgets with a 400.
    pub budget_exceeded_status_code: Option<u16>,
    /// LiteLLM's custom pass-through routes; data planes read them from the
    /// raw section (`http/passthrough/custom.rs`). Typed here so loading
    /// does not call them unrecognised.
    pub pass_through_endpoints: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct RouterSettings {
    pub routing_strategy: Option<String>,
    /// e.g. `{"ttl": 3600, "lowest_latency_buffer": 0.5}`.
    pub routing_strategy_args: Option<serde_json::Map<String, serde_json::Value>>,
    pub num_retries: Option<u32>,
    pub timeout: Option<f64>,
    pub stream_timeout: Option<f64>,
    pub retry_after: Option<f64>,
    pub allowed_fails: Option<u32>,
    pub cooldown_time: Option<f64>,
    pub disable_cooldowns: Option<bool>,
    pub fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub context_window_fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub content_policy_fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub default_fallbacks: Option<Vec<String>>,
    pub max_fallbacks: Option<u32>,
    pub model_group_alias: Option<BTreeMap<String, serde_json::Value>>,
    pub enable_pre_call_checks: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct LitellmSettings {
    pub drop_params: Option<bool>,
    pub num_retries: Option<u32>,
    /// Seconds.
    pub request_timeout: Option<f64>,
    pub max_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub context_window_fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub content_policy_fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    pub default_fallbacks: Option<Vec<String>>,
    /// A price file in LiteLLM's `model_prices_and_context_window.json`
    /// format, as a path or an http(s) URL (Tollgate's key; LiteLLM reads
    /// `LITELLM_MODEL_COST_MAP_URL`).
    pub model_cost_map: Option<String>,
}
