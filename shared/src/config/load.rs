//! Parsing, validation and `os.environ/` resolution of a config file.

use super::env::{EnvLookup, Layered, Resolved, resolve};
use super::model::LiteLlmConfig;
use crate::secret::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A config that parsed and validated, with what the operator should hear.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: LiteLlmConfig,
    /// Every top-level section as written, `os.environ/` resolved. Carries the
    /// keys Tollgate does not act on yet into the snapshot.
    pub raw_sections: BTreeMap<String, Value>,
    pub warnings: Vec<ConfigWarning>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Dotted path, e.g. `router_settings.redis_host`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML, or a field has the wrong type.
    #[error("{}", describe_invalid(path, *line, *column, message))]
    Invalid {
        path: Option<String>,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// Parsed, but a value is unusable.
    #[error("{path}: {message}")]
    Validation { path: String, message: String },
}

fn describe_invalid(
    path: &Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    message: &str,
) -> String {
    let mut out = String::from("invalid config");
    if let Some(line) = line {
        out.push_str(&format!(" at line {line}"));
        if let Some(column) = column {
            out.push_str(&format!(" column {column}"));
        }
    }
    if let Some(path) = path.as_deref().filter(|p| !p.is_empty() && *p != ".") {
        out.push_str(&format!(", field `{path}`"));
    }
    // serde_yaml_ng appends its own "at line X column Y"; we already said it.
    let message = match message.find(" at line ") {
        Some(i) if line.is_some() => &message[..i],
        _ => message,
    };
    out.push_str(": ");
    out.push_str(message);
    out
}

pub fn load_file(path: &Path, env: &dyn EnvLookup) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    load(&text, env)
}

/// Parses a `litellm_config.yaml`.
pub fn load(text: &str, env: &dyn EnvLookup) -> Result<LoadedConfig, ConfigError> {
    // Raw first: syntax errors are reported here with their position, and the
    // raw tree is what carries keys the typed view does not know.
    let raw_yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| yaml_error(None, &e))?;
    let mut raw: Value = match raw_yaml {
        serde_yaml_ng::Value::Null => Value::Object(Default::default()),
        other => serde_json::to_value(other).map_err(|e| ConfigError::Invalid {
            path: None,
            line: None,
            column: None,
            message: e.to_string(),
        })?,
    };
    if !raw.is_object() {
        return Err(ConfigError::Invalid {
            path: None,
            line: Some(1),
            column: Some(1),
            message: "the file must be a mapping with keys such as model_list and general_settings"
                .into(),
        });
    }

    let mut ignored: Vec<String> = Vec::new();
    let mut config: LiteLlmConfig = if text.trim().is_empty() {
        LiteLlmConfig::default()
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let mut on_ignored = |p: serde_ignored::Path<'_>| ignored.push(p.to_string());
        let de = serde_ignored::Deserializer::new(de, &mut on_ignored);
        serde_path_to_error::deserialize::<_, LiteLlmConfig>(de).map_err(|e| {
            let path = e.path().to_string();
            yaml_error(Some(path), e.inner())
        })?
    };

    let mut warnings = Vec::new();
    for path in ignored {
        if is_provider_param(&path) || read_by_telemetry(&path, &raw) {
            continue;
        }
        warnings.push(ConfigWarning {
            message: "not recognised by Tollgate: it has no effect (it is kept in the snapshot)"
                .into(),
            path,
        });
    }

    let overrides = config.environment_variables.clone();
    let env = Layered {
        overrides: &overrides,
        base: env,
    };
    resolve_typed(&mut config, &env, &mut warnings);
    resolve_raw(&mut raw, "", &env);
    fill_extras(&mut config, &raw);
    validate(&config, &mut warnings)?;

    let raw_sections = match raw {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    Ok(LoadedConfig {
        config,
        raw_sections,
        warnings,
    })
}

fn yaml_error(path: Option<String>, e: &serde_yaml_ng::Error) -> ConfigError {
    let location = e.location();
    ConfigError::Invalid {
        path,
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message: e.to_string(),
    }
}

/// Unknown keys under `litellm_params` are default request parameters for the
/// provider and unknown keys under `model_info` are metadata: both are normal.
fn is_provider_param(path: &str) -> bool {
    let mut parts = path.split('.');
    parts.next() == Some("model_list")
        && parts.next().is_some()
        && matches!(parts.next(), Some("litellm_params" | "model_info"))
}

/// Settings the telemetry crate reads from the raw sections
/// (`OtelSettings`): they have an effect, so they get no "not recognised"
/// warning. A callback list counts only when every callback in it is one
/// Tollgate has (`otel`, `prometheus`); `["langfuse"]` still warns.
fn read_by_telemetry(path: &str, raw: &Value) -> bool {
    const FLAGS: [&str; 6] = [
        "litellm_settings.turn_off_message_logging",
        "litellm_settings.tollgate_otel_capture_content",
        "litellm_settings.prometheus_initialize_budget_metrics",
        "general_settings.require_auth_for_metrics_endpoint",
        "general_settings.metrics_team_label",
        "general_settings.metrics_key_label",
    ];
    if FLAGS.contains(&path) {
        return true;
    }
    let Some(name) = path
        .strip_prefix("litellm_settings.")
        .filter(|n| matches!(*n, "callbacks" | "success_callback"))
    else {
        return false;
    };
    raw.get("litellm_settings")
        .and_then(|s| s.get(name))
        .and_then(Value::as_array)
        .is_some_and(|list| {
            !list.is_empty()
                && list.iter().all(|c| {
                    c.as_str().is_some_and(|c| {
                        c.eq_ignore_ascii_case("otel") || c.eq_ignore_ascii_case("prometheus")
                    })
                })
        })
}

fn resolve_secret(
    slot: &mut Option<SecretString>,
    path: &str,
    env: &dyn EnvLookup,
    warnings: &mut Vec<ConfigWarning>,
) {
    let Some(secret) = slot else { return };
    match resolve(secret.expose(), env) {
        Resolved::Literal => {}
        Resolved::Value(v) => *secret.expose_mut() = v,
        Resolved::Missing(name) => {
            warnings.push(missing_env(path, &name));
            *slot = None;
        }
    }
}

fn resolve_plain(
    slot: &mut Option<String>,
    path: &str,
    env: &dyn EnvLookup,
    warnings: &mut Vec<ConfigWarning>,
) {
    let Some(value) = slot else { return };
    match resolve(value, env) {
        Resolved::Literal => {}
        Resolved::Value(v) => *value = v,
        Resolved::Missing(name) => {
            warnings.push(missing_env(path, &name));
            *slot = None;
        }
    }
}

fn missing_env(path: &str, name: &str) -> ConfigWarning {
    ConfigWarning {
        path: path.to_string(),
        message: format!(
            "refers to environment variable {name}, which is not set; treated as unset"
        ),
    }
}

fn resolve_typed(config: &mut LiteLlmConfig, env: &dyn EnvLookup, w: &mut Vec<ConfigWarning>) {
    for (i, entry) in config.model_list.iter_mut().enumerate() {
        let p = &mut entry.litellm_params;
        let at = |field: &str| format!("model_list[{i}].litellm_params.{field}");
        resolve_secret(&mut p.api_key, &at("api_key"), env, w);
        resolve_secret(&mut p.aws_access_key_id, &at("aws_access_key_id"), env, w);
        resolve_secret(
            &mut p.aws_secret_access_key,
            &at("aws_secret_access_key"),
            env,
            w,
        );
        resolve_secret(&mut p.aws_session_token, &at("aws_session_token"), env, w);
        resolve_plain(&mut p.api_base, &at("api_base"), env, w);
        resolve_plain(&mut p.api_version, &at("api_version"), env, w);
        resolve_plain(&mut p.organization, &at("organization"), env, w);
        resolve_plain(&mut p.aws_region_name, &at("aws_region_name"), env, w);
    }
    let g = &mut config.general_settings;
    resolve_secret(&mut g.master_key, "general_settings.master_key", env, w);
    resolve_secret(&mut g.database_url, "general_settings.database_url", env, w);
}

fn resolve_raw(value: &mut Value, path: &str, env: &dyn EnvLookup) {
    match value {
        Value::String(s) => match resolve(s, env) {
            // Pass-through headers may carry a reference inside a value
            // (`Bearer os.environ/KEY`), as LiteLLM allows there.
            Resolved::Literal if is_pass_through_header(path) => {
                if let Some(v) = super::env::resolve_embedded(s, env) {
                    *s = v;
                }
            }
            Resolved::Literal => {}
            Resolved::Value(v) => *s = v,
            // Already warned about for typed fields; for raw-only keys the
            // reference stays visible as written rather than becoming "".
            Resolved::Missing(_) => {}
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve_raw(item, &format!("{path}[{i}]"), env);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                resolve_raw(v, &format!("{path}.{k}"), env);
            }
        }
        _ => {}
    }
}

/// `general_settings.pass_through_endpoints[i].headers.<name>`.
fn is_pass_through_header(path: &str) -> bool {
    path.starts_with(".general_settings.pass_through_endpoints[") && path.contains("].headers.")
}

/// Keys of a typed struct as it serializes (every field, `None` included).
fn typed_keys<T: serde::Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

fn fill_extras(config: &mut LiteLlmConfig, raw: &Value) {
    let Some(entries) = raw.get("model_list").and_then(Value::as_array) else {
        return;
    };
    let param_keys = typed_keys(&super::LitellmParams::default());
    let info_keys = typed_keys(&super::ModelInfo::default());
    for (entry, raw_entry) in config.model_list.iter_mut().zip(entries) {
        if let Some(obj) = raw_entry.get("litellm_params").and_then(Value::as_object) {
            entry.litellm_params.extra = obj
                .iter()
                .filter(|(k, _)| !param_keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        if let Some(obj) = raw_entry.get("model_info").and_then(Value::as_object) {
            entry.model_info.extra = obj
                .iter()
                .filter(|(k, _)| !info_keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
    }
}

fn validate(config: &LiteLlmConfig, warnings: &mut Vec<ConfigWarning>) -> Result<(), ConfigError> {
    let mut ids = std::collections::HashSet::new();
    for (i, entry) in config.model_list.iter().enumerate() {
        let at = |field: &str| format!("model_list[{i}].{field}");
        if entry.model_name.trim().is_empty() {
            return Err(ConfigError::Validation {
                path: at("model_name"),
                message: "must not be empty".into(),
            });
        }
        if entry.litellm_params.model.trim().is_empty() {
            return Err(ConfigError::Validation {
                path: at("litellm_params.model"),
                message: "must name the provider model, e.g. openai/gpt-4o".into(),
            });
        }
        if let Some(base) = &entry.litellm_params.api_base
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(ConfigError::Validation {
                path: at("litellm_params.api_base"),
                message: format!("`{base}` is not an http:// or https:// URL"),
            });
        }
        if let Some(weight) = entry.litellm_params.weight
            && !(weight.is_finite() && weight >= 0.0)
        {
            return Err(ConfigError::Validation {
                path: at("litellm_params.weight"),
                message: "must be a non-negative number".into(),
            });
        }
        if let Err(e) =
            crate::pricing::DeploymentOverrides::of(&entry.litellm_params, &entry.model_info.extra)
        {
            return Err(ConfigError::Validation {
                path: at(&e.field),
                message: e.to_string(),
            });
        }
        let extra = &entry.litellm_params.extra;
        if let Some(headers) = extra.get("extra_headers")
            && !headers
                .as_object()
                .is_some_and(|h| h.values().all(|v| v.is_string() || v.is_number()))
        {
            return Err(ConfigError::Validation {
                path: at("litellm_params.extra_headers"),
                message: "must map header names to string values, e.g. {X-Team: blue}".into(),
            });
        }
        if let Some(body) = extra.get("extra_body")
            && !body.is_object()
        {
            return Err(ConfigError::Validation {
                path: at("litellm_params.extra_body"),
                message: "must be a map of request keys to add to the provider's body".into(),
            });
        }
        for key in entry.litellm_params.extra.keys() {
            if super::settings::setting(key)
                .is_some_and(|s| s.support == super::settings::Support::Missing)
            {
                warnings.push(ConfigWarning {
                    path: at(&format!("litellm_params.{key}")),
                    message: "a LiteLLM setting Tollgate does not implement: it has no effect and is not sent to the provider".into(),
                });
            }
        }
        if let Some(id) = &entry.model_info.id
            && !ids.insert(id.clone())
        {
            return Err(ConfigError::Validation {
                path: at("model_info.id"),
                message: format!("`{id}` is used by another deployment; ids must be unique"),
            });
        }
    }
    if let Some(status) = config.general_settings.budget_exceeded_status_code
        && !(400..500).contains(&status)
    {
        return Err(ConfigError::Validation {
            path: "general_settings.budget_exceeded_status_code".into(),
            message: format!(
                "{status} is not a client error status: budget refusals must be a 4xx (429 by default)"
            ),
        });
    }
    if let Some(key) = &config.general_settings.master_key
        && !key.expose().starts_with("sk-")
    {
        warnings.push(ConfigWarning {
            path: "general_settings.master_key".into(),
            message: "LiteLLM requires master keys to start with `sk-`; accepted anyway".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([("OPENAI_API_KEY".to_string(), "sk-provider".to_string())])
    }

    const FULL: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      temperature: 0.2
      rpm: 100
    model_info:
      id: dep-1
      supports_vision: true
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/MISSING_KEY
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  redis_host: localhost
litellm_settings:
  drop_params: true
  success_callback: ["langfuse"]
general_settings:
  master_key: sk-1234
  alerting: ["slack"]
surprise_section: {a: 1}
"#;

    #[test]
    fn parses_a_litellm_config_unchanged() {
        let loaded = load(FULL, &env()).expect("valid config");
        let c = &loaded.config;
        assert_eq!(c.model_list.len(), 2);
        let p = &c.model_list[0].litellm_params;
        assert_eq!(p.api_key.as_ref().map(|k| k.expose()), Some("sk-provider"));
        assert_eq!(p.rpm, Some(100));
        assert_eq!(p.extra.get("temperature"), Some(&serde_json::json!(0.2)));
        assert!(!p.extra.contains_key("model"));
        assert_eq!(
            c.model_list[0].model_info.extra.get("supports_vision"),
            Some(&serde_json::json!(true))
        );
        assert_eq!(c.router_settings.num_retries, Some(2));
        assert_eq!(c.litellm_settings.drop_params, Some(true));
        assert_eq!(
            c.general_settings.master_key.as_ref().map(|k| k.expose()),
            Some("sk-1234")
        );
        // Unresolvable reference: unset, with a warning naming the variable.
        assert!(c.model_list[1].litellm_params.api_key.is_none());
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.path == "model_list[1].litellm_params.api_key"
                    && w.message.contains("MISSING_KEY"))
        );
        // Unknown keys are warnings, and carried raw.
        let paths: Vec<_> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(paths.contains(&"router_settings.redis_host"), "{paths:?}");
        assert!(paths.contains(&"litellm_settings.success_callback"));
        let observability = "model_list: []\nlitellm_settings:\n  callbacks: [\"otel\", \"prometheus\"]\n  turn_off_message_logging: false\n  prometheus_initialize_budget_metrics: true\ngeneral_settings:\n  require_auth_for_metrics_endpoint: true\n";
        let acted_on = load(observability, &env()).expect("valid config");
        assert!(
            acted_on.warnings.is_empty(),
            "settings Tollgate acts on do not warn: {:?}",
            acted_on.warnings
        );
        assert!(paths.contains(&"general_settings.alerting"));
        assert!(paths.contains(&"surprise_section"));
        assert!(!paths.iter().any(|p| p.contains("temperature")));
        assert_eq!(
            loaded.raw_sections["router_settings"]["redis_host"],
            serde_json::json!("localhost")
        );
    }

    #[test]
    fn a_type_error_names_the_line_and_the_field() {
        let text = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      rpm: lots\n";
        let err = load(text, &env()).expect_err("rpm is not a number");
        let msg = err.to_string();
        assert!(msg.contains("line 5"), "{msg}");
        assert!(msg.contains("model_list[0].litellm_params.rpm"), "{msg}");
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let text = "model_list:\n  - model_name: a\n    litellm_params: [unclosed\n";
        let msg = load(text, &env()).expect_err("broken yaml").to_string();
        assert!(msg.contains("line "), "{msg}");
    }

    #[test]
    fn missing_required_field_is_reported() {
        let text =
            "model_list:\n  - model_name: a\n    litellm_params:\n      api_base: http://x\n";
        let msg = load(text, &env()).expect_err("no model").to_string();
        assert!(msg.contains("model"), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn invalid_api_base_is_rejected() {
        let text = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      api_base: localhost:8000\n";
        let err = load(text, &env()).expect_err("not a url");
        assert!(err.to_string().contains("api_base"), "{err}");
    }

    #[test]
    fn a_cost_that_is_no_price_is_rejected_at_load() {
        let text = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n    model_info: {input_cost_per_token: -0.5}\n";
        let err = load(text, &env()).expect_err("negative price");
        let shown = err.to_string();
        assert!(
            shown.contains("model_list[0].model_info.input_cost_per_token"),
            "{shown}"
        );
        let text = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, cache_read_input_token_cost: 1.0e-7, cache_creation_input_token_cost: 1.0e-6, tags: [x], temperature: 0.2}\n";
        let loaded = load(text, &env()).expect("valid");
        let params = &loaded.config.model_list[0].litellm_params;
        assert_eq!(params.cache_read_input_token_cost, Some(1e-7));
        assert!(!params.extra.contains_key("cache_read_input_token_cost"));
        // A LiteLLM-only setting Tollgate lacks is named; a request default is not.
        let warned: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(
            warned.contains(&"model_list[0].litellm_params.tags"),
            "{warned:?}"
        );
        assert!(
            !warned.iter().any(|p| p.ends_with("temperature")),
            "{warned:?}"
        );
        // Cache writes have their own price now: nothing to warn about.
        assert_eq!(params.cache_creation_input_token_cost, Some(1e-6));
        assert!(
            !loaded
                .warnings
                .iter()
                .any(|w| w.path.ends_with("cache_creation_input_token_cost"))
        );
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let loaded = load("", &env()).expect("empty is fine");
        assert!(loaded.config.model_list.is_empty());
    }

    #[test]
    fn environment_variables_section_feeds_references() {
        let text = "environment_variables:\n  MY_KEY: sk-from-section\nmodel_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      api_key: os.environ/MY_KEY\n";
        let loaded = load(text, &BTreeMap::new()).expect("valid");
        assert_eq!(
            loaded.config.model_list[0]
                .litellm_params
                .api_key
                .as_ref()
                .map(|k| k.expose()),
            Some("sk-from-section")
        );
    }
}
