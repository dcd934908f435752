//! The one list of LiteLLM's own settings: keys that configure the gateway
//! (routing, retries, timeouts, credentials, prices, logging) and are never
//! provider parameters. Everything a deployment's `litellm_params` or a
//! request body holds that is *not* on this list is a provider parameter
//! (`temperature`, `max_tokens`, `response_format`, …) and is forwarded.
//!
//! Where the list comes from (LiteLLM's source, read for this module):
//! - `all_litellm_params` in `litellm/types/utils.py`: what LiteLLM's
//!   `get_optional_params` / `_get_non_default_params` remove before they
//!   build a provider request, plus `StandardCallbackDynamicParams` (the
//!   per-request logging credentials) and `CustomPricingLiteLLMParams`
//!   (every `*_cost_*` key);
//! - the fields of `CredentialLiteLLMParams`, `GenericLiteLLMParams` and
//!   `LiteLLMParamsTypedDict` in `litellm/types/router.py` (deployment
//!   settings: `rpm`, `order`, `tags`, `aws_*`, `vertex_*`, budgets, …);
//! - the router's request controls (`_ROUTER_ONLY_KWARGS` and
//!   `_update_kwargs_before_fallbacks` in `litellm/router.py`: `num_retries`,
//!   the fallback lists, `mock_testing_*`) and the proxy's request keys
//!   (`metadata`, `user_api_key_*`, `litellm_*`).
//!
//! The same list is applied to a deployment's default parameters (at
//! snapshot apply) and to every request body (before each provider call), so
//! no setting can reach a provider's body, headers or query by either path.

use serde_json::{Map, Value};

/// What Tollgate does with a setting it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Tollgate acts on it as LiteLLM does (a typed field, a request
    /// control the router reads, or a key a provider translation reads).
    Implemented,
    /// LiteLLM gives it no effect on a proxied call either, or it only
    /// describes the deployment (`model_info`, `max_retries` on a routed
    /// call, logging ids): dropped without a word.
    NoEffect,
    /// A LiteLLM feature Tollgate does not have: dropped, and a deployment
    /// that sets it gets a warning at load.
    Missing,
}

/// How a setting's name is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    Exact(&'static str),
    /// A family of keys (`aws_…`, `litellm_…`): LiteLLM keeps adding
    /// members, and none of them is a provider parameter.
    Prefix(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: Name,
    pub support: Support,
}

impl Setting {
    pub fn matches(&self, key: &str) -> bool {
        match self.name {
            Name::Exact(name) => key == name,
            Name::Prefix(prefix) => key.starts_with(prefix),
        }
    }
}

const fn exact(name: &'static str, support: Support) -> Setting {
    Setting {
        name: Name::Exact(name),
        support,
    }
}

const fn prefix(name: &'static str, support: Support) -> Setting {
    Setting {
        name: Name::Prefix(name),
        support,
    }
}

use Support::{Implemented, Missing, NoEffect};

/// Every LiteLLM setting. Exact names first, then families. A key matched
/// by more than one entry takes the first.
pub const SETTINGS: &[Setting] = &[
    // Where and how to call the deployment (typed in `LitellmParams`).
    exact("model", Implemented),
    exact("api_key", Implemented),
    exact("api_base", Implemented),
    exact("api_version", Implemented),
    exact("organization", Implemented),
    exact("custom_llm_provider", NoEffect),
    exact("aws_access_key_id", Implemented),
    exact("aws_secret_access_key", Implemented),
    exact("aws_session_token", Implemented),
    exact("aws_region_name", Implemented),
    exact("aws_bedrock_runtime_endpoint", Implemented),
    // Routing and reliability.
    exact("rpm", Implemented),
    exact("tpm", Implemented),
    exact("weight", Implemented),
    exact("order", Implemented),
    exact("timeout", Implemented),
    exact("stream_timeout", Implemented),
    exact("num_retries", Implemented),
    // LiteLLM hands `max_retries` to the provider SDK's own retries, and a
    // routed call disables those (the router is the only retrier): no
    // effect on a proxied call.
    exact("max_retries", NoEffect),
    exact("request_timeout", NoEffect),
    exact("force_timeout", NoEffect),
    exact("fallbacks", Implemented),
    exact("context_window_fallbacks", Implemented),
    exact("content_policy_fallbacks", Missing),
    exact("context_window_fallback_dict", NoEffect),
    exact("disable_fallbacks", Implemented),
    exact("max_fallbacks", NoEffect),
    exact("fallback_depth", NoEffect),
    exact("retry_policy", NoEffect),
    exact("retry_strategy", NoEffect),
    exact("cooldown_time", Missing),
    exact("max_parallel_requests", Missing),
    exact("itpm", Missing),
    exact("otpm", Missing),
    exact("tags", Missing),
    exact("tag_regex", Missing),
    exact("enable_tag_filtering", Missing),
    exact("region_name", Missing),
    exact("allowed_model_region", Missing),
    exact("fastest_response", Missing),
    exact("provider_affinity_header", Missing),
    exact("model_list", NoEffect),
    // Answering without a provider.
    exact("mock_response", Implemented),
    exact("mock_timeout", Missing),
    prefix("mock_testing_", Implemented),
    // Request translation LiteLLM does itself.
    exact("drop_params", Implemented),
    exact("additional_drop_params", Missing),
    exact("allowed_openai_params", Missing),
    exact("merge_reasoning_content_in_choices", Missing),
    exact("supports_system_message", Missing),
    exact("user_continue_message", Missing),
    exact("assistant_continue_message", Missing),
    exact("ensure_alternating_roles", Missing),
    exact("disable_add_transform_inline_image_block", Missing),
    exact("roles", Missing),
    exact("final_prompt_value", Missing),
    exact("bos_token", Missing),
    exact("eos_token", Missing),
    exact("hf_model_name", NoEffect),
    exact("headers", NoEffect),
    exact("provider_specific_header", Missing),
    exact("use_in_pass_through", Missing),
    exact("use_litellm_proxy", Missing),
    exact("use_chat_completions_api", Missing),
    exact("use_xai_oauth", Missing),
    exact("configurable_clientside_auth_params", Missing),
    exact("litellm_credential_name", Missing),
    exact("max_file_size_mb", Missing),
    exact("keepalive_seconds", Missing),
    exact("allow_client_keepalive_override", Missing),
    exact("rust", NoEffect),
    // Credentials of other clouds and stores (LiteLLM's
    // `CredentialLiteLLMParams`).
    exact("tenant_id", Missing),
    exact("client_id", Missing),
    exact("client_secret", Missing),
    exact("bucket_name", Missing),
    exact("bedrock_tags", Missing),
    exact("vector_store_id", Missing),
    exact("index_name", Missing),
    exact("embedding_model", Missing),
    exact("vector_bucket_name", Missing),
    // Budgets and limits of the deployment.
    exact("max_budget", Missing),
    exact("budget_duration", Missing),
    exact("default_api_key_tpm_limit", Missing),
    exact("default_api_key_rpm_limit", Missing),
    // What the deployment is, for prices and `/model/info`.
    exact("model_info", NoEffect),
    exact("base_model", NoEffect),
    exact("id", NoEffect),
    exact("tiered_pricing", Missing),
    // Caching (LiteLLM's response cache, not the provider's prompt cache).
    exact("caching", Missing),
    exact("cache", Missing),
    exact("cache_key", NoEffect),
    exact("preset_cache_key", NoEffect),
    exact("caching_groups", NoEffect),
    exact("ttl", NoEffect),
    exact("no-log", NoEffect),
    // Prompt management and guardrails.
    exact("prompt_id", Missing),
    exact("prompt_variables", Missing),
    exact("prompt_version", Missing),
    exact("prompt_label", Missing),
    exact("guardrails", Missing),
    exact("search_tool_name", Missing),
    // The proxy's request bookkeeping and logging.
    exact("metadata", Implemented),
    exact("proxy_server_request", NoEffect),
    exact("secret_fields", NoEffect),
    exact("model_file_id_mapping", NoEffect),
    exact("turn_off_message_logging", Missing),
    // Tollgate's per-deployment switch: no `traceparent` to this provider.
    exact("propagate_trace_context", Implemented),
    exact("shared_session", NoEffect),
    exact("model_config", NoEffect),
    exact("logger_fn", NoEffect),
    exact("verbose", NoEffect),
    exact("use_client", NoEffect),
    exact("client", NoEffect),
    exact("azure", NoEffect),
    exact("acompletion", NoEffect),
    exact("aimg_generation", NoEffect),
    exact("atext_completion", NoEffect),
    exact("text_completion", NoEffect),
    exact("complete_response", NoEffect),
    exact("self", NoEffect),
    // Families. Every `*_cost_*`/`*_cost` key is a price
    // (`CustomPricingLiteLLMParams`); the typed ones are read, the others
    // warned about by pricing where they matter.
    exact("input_cost_per_token", Implemented),
    exact("output_cost_per_token", Implemented),
    exact("cache_read_input_token_cost", Implemented),
    exact("cache_creation_input_token_cost", Implemented),
    prefix("input_cost_per_", Missing),
    prefix("output_cost_per_", Missing),
    prefix("cache_read_input_", Missing),
    prefix("cache_creation_input_", Missing),
    prefix("search_context_cost_", Missing),
    prefix("citation_cost_", Missing),
    prefix("cost_per_", Missing),
    prefix("litellm_", NoEffect),
    prefix("user_api_key_", NoEffect),
    prefix("aws_", Missing),
    prefix("vertex_", Missing),
    prefix("azure_", Missing),
    prefix("s3_", Missing),
    prefix("gcs_", Missing),
    prefix("watsonx_", Missing),
    prefix("health_check_", NoEffect),
    prefix("supports_", NoEffect),
    prefix("auto_router_", Missing),
    prefix("complexity_router_", Missing),
    prefix("adaptive_router_", Missing),
    prefix("quality_router_", Missing),
    prefix("milvus_", Missing),
    prefix("valkey_", Missing),
    // `StandardCallbackDynamicParams`: a request's own logging credentials.
    prefix("langfuse_", NoEffect),
    prefix("langsmith_", NoEffect),
    prefix("humanloop_", NoEffect),
    prefix("arize_", NoEffect),
    prefix("posthog_", NoEffect),
];

/// The setting `key` names, if it is one.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.matches(key))
}

/// Whether `key` is LiteLLM's own, never a provider parameter.
pub fn is_setting(key: &str) -> bool {
    setting(key).is_some()
}

/// Removes every LiteLLM setting from `params`, keeping `model` (which the
/// caller rewrites to the provider's name) and provider parameters.
pub fn strip(params: &mut Map<String, Value>) {
    params.retain(|key, _| key == "model" || !is_setting(key));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One key per entry: the exact name, or a member of the family.
    fn every_listed_key() -> Vec<String> {
        SETTINGS
            .iter()
            .map(|s| match s.name {
                Name::Exact(name) => name.to_string(),
                Name::Prefix(prefix) => format!("{prefix}example"),
            })
            .collect()
    }

    #[test]
    fn every_key_of_the_list_is_stripped_and_provider_parameters_stay() {
        let provider = [
            "temperature",
            "max_tokens",
            "top_p",
            "stop",
            "user",
            "seed",
            "response_format",
            "tools",
            "messages",
            "stream",
            "stream_options",
            "reasoning_effort",
        ];
        let mut body = Map::new();
        for key in every_listed_key()
            .iter()
            .map(String::as_str)
            .chain(provider)
        {
            body.insert(key.to_string(), Value::Bool(true));
        }
        strip(&mut body);
        let mut left: Vec<&str> = body.keys().map(String::as_str).collect();
        left.sort_unstable();
        let mut want: Vec<&str> = provider.iter().copied().chain(["model"]).collect();
        want.sort_unstable();
        assert_eq!(left, want);
    }

    #[test]
    fn the_issues_keys_are_settings() {
        for key in [
            "num_retries",
            "max_retries",
            "timeout",
            "stream_timeout",
            "rpm",
            "tpm",
            "weight",
            "order",
            "tags",
            "region_name",
            "mock_response",
            "use_in_pass_through",
            "merge_reasoning_content_in_choices",
            "litellm_credential_name",
            "litellm_trace_id",
            "input_cost_per_second",
            "output_cost_per_token_batches",
            "cache_creation_input_token_cost_above_1hr",
            "aws_role_name",
            "vertex_credentials",
            "user_api_key_alias",
            "health_check_timeout",
            "supports_vision",
            "base_model",
            "additional_drop_params",
        ] {
            assert!(is_setting(key), "{key} must be a LiteLLM setting");
        }
    }

    #[test]
    fn provider_parameters_that_look_like_settings_are_not() {
        // Real provider parameters near a family's name.
        for key in [
            "max_tokens",
            "max_completion_tokens",
            "user",
            "cache_control",
        ] {
            assert!(!is_setting(key), "{key} is a provider parameter");
        }
    }

    #[test]
    fn every_typed_deployment_field_is_on_the_list() {
        // A field added to `LitellmParams` is a setting by construction: it
        // must be declared here too, or a request body could carry it on.
        let typed =
            serde_json::to_value(super::super::LitellmParams::default()).expect("serializes");
        let Value::Object(fields) = typed else {
            panic!("LitellmParams is a struct");
        };
        for key in fields.keys() {
            assert!(is_setting(key), "typed field {key} is not on the list");
        }
    }

    #[test]
    fn no_entry_is_shadowed_by_an_earlier_one() {
        for (i, s) in SETTINGS.iter().enumerate() {
            let key = match s.name {
                Name::Exact(name) => name.to_string(),
                Name::Prefix(prefix) => format!("{prefix}example"),
            };
            let first = SETTINGS.iter().position(|t| t.matches(&key));
            assert_eq!(first, Some(i), "{:?} is shadowed", s.name);
        }
    }
}
