//! The serving form of a snapshot: lookups prepared once at apply time so
//! the request path does hash-map reads and nothing else.

use crate::providers::{BuildError, Upstream};
use crate::router::RoutingPolicy;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tollgate_shared::config::settings;
use tollgate_shared::keys::KeyHash;
use tollgate_shared::pricing::{self, DeploymentOverrides, Price, TokenLimits};
use tollgate_shared::snapshot::{
    Customer, EntryId, EntryKind, Snapshot, Team, TypedEntries, User, VirtualKey,
};

/// LiteLLM's default `request_timeout` is 6000 s; a gateway should not hold
/// a connection that long by default. Overridable per deployment and in
/// router/litellm settings.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a request is served with: the config part (`Core`, shared by every
/// runtime built from the same config) and the directory — keys, teams,
/// users, end users and their limits. A management write changes only the
/// directory (`with_changes`), so the deployments, their provider clients
/// and connection pools are kept.
pub struct Runtime {
    core: Arc<Core>,
    /// Virtual keys by hash: one O(1) lookup per request; sharded so a
    /// delta copies only the shards it touches.
    keys: crate::keyring::Keyring,
    /// Teams, users and end users by id: O(1) next to the key lookup.
    teams: HashMap<String, Arc<Team>>,
    users: HashMap<String, Arc<User>>,
    customers: HashMap<String, Arc<Customer>>,
    /// Team, user, end-user and proxy limits, by id.
    pub limits: crate::limits::LimitIndex,
}

impl std::ops::Deref for Runtime {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

/// The config part of a runtime: deployments, groups, routing.
pub struct Core {
    master_key_hash: Option<KeyHash>,
    /// Model group names in config order, for per-key `/v1/models`.
    model_names: Vec<String>,
    groups: HashMap<String, ModelGroup>,
    /// Groups whose name has a `*` (`openai/*`, `*`), most specific first.
    wildcards: Vec<Wildcard>,
    /// `router_settings.model_group_alias`.
    aliases: HashMap<String, String>,
    /// Every deployment once, in config order.
    deployments: Vec<Arc<Deployment>>,
    /// `GET /v1/models`, serialized once per snapshot.
    models_body: Bytes,
    pub routing: RoutingPolicy,
    /// `general_settings.pass_through_endpoints`.
    pub pass_through: crate::http::passthrough::CustomEndpoints,
    /// What the config asks of tracing and metrics.
    pub otel: tollgate_telemetry::OtelSettings,
}

struct Wildcard {
    prefix: String,
    suffix: String,
    group: String,
}

/// The group a request's `model` names, and what a wildcard matched.
pub struct Resolved<'a> {
    pub group: &'a ModelGroup,
    /// For a wildcard group, the part of the name the `*` matched; it
    /// replaces the `*` in the deployment's model (`openai/*` → `gpt-4o`).
    pub wildcard: Option<String>,
}

pub struct ModelGroup {
    pub name: String,
    deployments: Vec<Arc<Deployment>>,
    /// Running sums of the weights, for one binary search per pick.
    cumulative: Vec<f64>,
}

pub struct Deployment {
    pub id: String,
    pub model_name: String,
    pub upstream_model: String,
    pub provider: &'static str,
    pub upstream: Upstream,
    pub timeout: Duration,
    pub stream_timeout: Duration,
    /// `litellm_params.num_retries`: retries after this deployment failed,
    /// instead of the router's count (LiteLLM's precedence, in
    /// `router/attempt.rs`).
    pub num_retries: Option<u32>,
    /// `None`: no price known (cost recorded as 0 and flagged).
    pub price: Option<Price>,
    /// Prompt tokens the model accepts and tokens it may generate, when
    /// known: the pre-call context check, budget estimates, `/model/info`.
    pub token_limits: TokenLimits,
    /// `litellm_params.order`: lower is tried first; unset is last.
    pub order: u32,
    /// Share in `simple-shuffle`: `weight`, else `rpm`, else `tpm`, else 1.
    pub weight: f64,
    /// `drop_params`, per deployment or from `litellm_settings`.
    pub drop_params: bool,
    /// Default request parameters from `litellm_params` (request wins):
    /// its provider parameters, `extra_body`'s keys among them.
    pub default_params: serde_json::Map<String, serde_json::Value>,
    /// `litellm_params.extra_headers`, sent on every call to it.
    pub extra_headers: Option<Arc<http::HeaderMap>>,
    /// `model_info.mode` (`chat`, `embedding`, …): how `/health` probes it.
    pub mode: Option<String>,
    /// `litellm_params.model` as configured (`openai/gpt-4o`), for `/health`.
    pub configured_model: String,
    /// Requests and tokens per minute it may take (`litellm_params`, else
    /// `model_info`): the router skips it once reached.
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    /// The deployment as configured, for `/model/info` (which shows only
    /// what is not secret).
    pub config: Arc<tollgate_shared::snapshot::Deployment>,
    /// Its Prometheus handles, made once per snapshot.
    pub metrics: Arc<crate::metrics::DeploymentMetrics>,
    /// `litellm_params.propagate_trace_context` (default on, off for
    /// Bedrock, whose SigV4 signature would not cover the header): whether
    /// calls carry the attempt's `traceparent`.
    pub propagate_trace_context: bool,
}

impl Runtime {
    pub fn build(snapshot: &Snapshot) -> Result<Runtime, BuildError> {
        let otel = tollgate_telemetry::OtelSettings::from_sections(
            snapshot.raw_settings.get("litellm_settings"),
            snapshot.raw_settings.get("general_settings"),
        );
        let label_options = crate::metrics::LabelOptions {
            team: otel.metrics_team_label,
            key_alias: otel.metrics_key_label,
        };
        let router_timeout = snapshot
            .router_settings
            .timeout
            .or(snapshot.litellm_settings.request_timeout)
            .and_then(seconds);
        let router_stream_timeout = snapshot.router_settings.stream_timeout.and_then(seconds);

        let mut by_group: HashMap<String, Vec<(Arc<Deployment>, f64)>> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut deployments = Vec::with_capacity(snapshot.deployments.len());
        for d in &snapshot.deployments {
            let timeout = d
                .params
                .timeout
                .and_then(seconds)
                .or(router_timeout)
                .unwrap_or(DEFAULT_TIMEOUT);
            let stream_timeout = d
                .params
                .stream_timeout
                .and_then(seconds)
                .or(router_stream_timeout)
                .unwrap_or(timeout);
            let weight = d
                .params
                .weight
                .or(d.params.rpm.map(|v| v as f64))
                .or(d.params.tpm.map(|v| v as f64))
                .unwrap_or(1.0);
            let (price, token_limits) = card_of(d);
            let upstream = Upstream::build(d)?;
            let metrics = Arc::new(crate::metrics::DeploymentMetrics::new(
                &d.model_name,
                &d.id,
                d.provider.as_str(),
                &d.upstream_model,
                upstream.api_base(),
                label_options,
            ));
            let propagate_trace_context = d
                .extra_params
                .get("propagate_trace_context")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(d.provider.as_str() != "bedrock");
            let deployment = Arc::new(Deployment {
                id: d.id.clone(),
                model_name: d.model_name.clone(),
                upstream_model: d.upstream_model.clone(),
                provider: d.provider.as_str(),
                upstream,
                price,
                token_limits,
                order: d.params.order.unwrap_or(u32::MAX),
                weight,
                drop_params: d
                    .params
                    .drop_params
                    .or(snapshot.litellm_settings.drop_params)
                    .unwrap_or(false),
                timeout,
                stream_timeout,
                num_retries: d.params.num_retries,
                default_params: crate::providers::extras::default_params(
                    d.extra_params
                        .iter()
                        .filter(|(k, _)| !settings::is_setting(k))
                        .map(|(k, v)| (k.clone(), v.clone())),
                ),
                extra_headers: crate::providers::extras::extra_headers(&d.id, &d.extra_params)?,
                mode: d.model_info.mode.clone(),
                configured_model: d.params.model.clone(),
                rpm: d.params.rpm.or_else(|| info_count(d, "rpm")),
                tpm: d.params.tpm.or_else(|| info_count(d, "tpm")),
                config: Arc::new(d.clone()),
                metrics,
                propagate_trace_context,
            });
            deployments.push(Arc::clone(&deployment));
            if !by_group.contains_key(&d.model_name) {
                order.push(d.model_name.clone());
            }
            by_group
                .entry(d.model_name.clone())
                .or_default()
                .push((Arc::clone(&deployment), weight));
            // A deployment id is also a valid `model` (LiteLLM), naming
            // exactly that deployment.
            if d.id != d.model_name {
                by_group
                    .entry(d.id.clone())
                    .or_default()
                    .push((deployment, 1.0));
            }
        }

        let groups = by_group
            .into_iter()
            .map(|(name, members)| {
                let group = ModelGroup::new(name.clone(), members);
                (name, group)
            })
            .collect();
        let models_body = models_list(&order);
        let mut wildcards: Vec<Wildcard> = order
            .iter()
            .filter_map(|name| {
                let (prefix, suffix) = name.split_once('*')?;
                Some(Wildcard {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    group: name.clone(),
                })
            })
            .collect();
        // The most specific pattern wins (`openai/gpt-*` before `openai/*`
        // before `*`).
        wildcards.sort_by_key(|w| std::cmp::Reverse(w.prefix.len() + w.suffix.len()));
        let aliases = snapshot
            .router_settings
            .model_group_alias
            .iter()
            .flatten()
            .filter_map(|(alias, target)| {
                // LiteLLM accepts "group" or {"model": "group", "hidden": …}.
                let target = target
                    .as_str()
                    .or_else(|| target.get("model").and_then(serde_json::Value::as_str))?;
                Some((alias.clone(), target.to_string()))
            })
            .collect();
        let keys = crate::keyring::Keyring::new(snapshot.keys.iter().cloned());
        let core = Core {
            master_key_hash: snapshot.master_key_hash,
            model_names: order,
            groups,
            wildcards,
            aliases,
            deployments,
            models_body,
            routing: RoutingPolicy::from_snapshot(snapshot),
            pass_through: crate::http::passthrough::CustomEndpoints::from_settings(
                &snapshot.raw_settings,
            ),
            otel,
        };
        Ok(Runtime {
            core: Arc::new(core),
            keys,
            teams: by_id(&snapshot.teams, |t| &t.team_id),
            users: by_id(&snapshot.users, |u| &u.user_id),
            customers: by_id(&snapshot.customers, |c| &c.user_id),
            limits: crate::limits::LimitIndex::build(snapshot),
        })
    }

    /// This runtime with a directory change applied (upserts, then
    /// removals, as the delta lists them); the config part is shared.
    pub fn with_changes(&self, put: TypedEntries, removed: &[EntryId]) -> Runtime {
        let mut keys = self.keys.clone();
        let mut teams = self.teams.clone();
        let mut users = self.users.clone();
        let mut customers = self.customers.clone();
        for key in put.keys {
            keys.insert(key);
        }
        for team in put.teams {
            teams.insert(team.team_id.clone(), Arc::new(team));
        }
        for user in put.users {
            users.insert(user.user_id.clone(), Arc::new(user));
        }
        for customer in put.customers {
            customers.insert(customer.user_id.clone(), Arc::new(customer));
        }
        for (kind, id) in removed {
            match kind {
                EntryKind::Key => {
                    if let Some(hash) = KeyHash::from_hex(id) {
                        keys.remove(&hash);
                    }
                }
                EntryKind::Team => {
                    teams.remove(id);
                }
                EntryKind::User => {
                    users.remove(id);
                }
                EntryKind::Customer => {
                    customers.remove(id);
                }
            }
        }
        let limits = self.limits.with_entities(
            teams.values().map(|t| (&t.team_id, &t.limits)),
            users.values().map(|u| (&u.user_id, &u.limits)),
            customers.values().map(|c| (&c.user_id, &c.limits)),
        );
        Runtime {
            core: Arc::clone(&self.core),
            keys,
            teams,
            users,
            customers,
            limits,
        }
    }

    pub fn is_master_key(&self, presented: &KeyHash) -> bool {
        self.master_key_hash.as_ref() == Some(presented)
    }

    pub fn deployments(&self) -> &[Arc<Deployment>] {
        &self.deployments
    }

    pub fn key(&self, hash: &KeyHash) -> Option<&Arc<VirtualKey>> {
        self.keys.get(hash)
    }

    /// Model group names in config order.
    pub fn model_names(&self) -> &[String] {
        &self.model_names
    }

    pub fn team(&self, team_id: &str) -> Option<&Arc<Team>> {
        self.teams.get(team_id)
    }

    pub fn user(&self, user_id: &str) -> Option<&Arc<User>> {
        self.users.get(user_id)
    }

    pub fn customer(&self, user_id: &str) -> Option<&Arc<Customer>> {
        self.customers.get(user_id)
    }

    /// `/v1/models` for a key restricted to some models (unrestricted keys
    /// get the pre-serialized body).
    pub fn models_body_for(&self, allowed: &[String]) -> Bytes {
        let names: Vec<String> = self
            .model_names
            .iter()
            .filter(|m| allowed.iter().any(|a| a == *m))
            .cloned()
            .collect();
        models_list(&names)
    }

    pub fn group(&self, model: &str) -> Option<&ModelGroup> {
        self.groups.get(model)
    }

    /// Exact group or deployment id, then `model_group_alias`, then the most
    /// specific wildcard group.
    pub fn resolve(&self, model: &str) -> Option<Resolved<'_>> {
        let model = self.aliases.get(model).map_or(model, String::as_str);
        if let Some(group) = self.groups.get(model) {
            return Some(Resolved {
                group,
                wildcard: None,
            });
        }
        self.wildcards.iter().find_map(|w| {
            let rest = model.strip_prefix(w.prefix.as_str())?;
            let matched = rest.strip_suffix(w.suffix.as_str())?;
            if matched.is_empty() {
                return None;
            }
            Some(Resolved {
                group: self.groups.get(&w.group)?,
                wildcard: Some(matched.to_string()),
            })
        })
    }

    pub fn models_body(&self) -> Bytes {
        self.models_body.clone()
    }
}

impl ModelGroup {
    fn new(name: String, members: Vec<(Arc<Deployment>, f64)>) -> Self {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(members.len());
        let mut deployments = Vec::with_capacity(members.len());
        for (deployment, weight) in members {
            total += weight.max(0.0);
            cumulative.push(total);
            deployments.push(deployment);
        }
        Self {
            name,
            deployments,
            cumulative,
        }
    }

    pub fn len(&self) -> usize {
        self.deployments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deployments.is_empty()
    }

    pub fn deployments(&self) -> &[Arc<Deployment>] {
        &self.deployments
    }

    /// Weighted pick among `subset` (members of this group).
    pub fn pick_among<'a>(&self, subset: &[&'a Arc<Deployment>]) -> Option<&'a Arc<Deployment>> {
        let total: f64 = subset.iter().map(|d| d.weight.max(0.0)).sum();
        if subset.len() <= 1 || total <= 0.0 {
            return subset.first().copied();
        }
        let mut target = rand::random::<f64>() * total;
        for d in subset {
            let w = d.weight.max(0.0);
            if target < w {
                return Some(d);
            }
            target -= w;
        }
        subset.last().copied()
    }

    /// `simple-shuffle`: weighted random by `weight`, else `rpm`, else `tpm`,
    /// else uniform. (The router issue adds the other strategies.)
    pub fn pick(&self) -> Option<&Arc<Deployment>> {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if self.deployments.len() <= 1 || total <= 0.0 {
            return self.deployments.first();
        }
        let target = rand::random::<f64>() * total;
        let index = self.cumulative.partition_point(|&c| c <= target);
        self.deployments.get(index.min(self.deployments.len() - 1))
    }
}

/// The deployment's own prices and limits win (LiteLLM's custom pricing in
/// `litellm_params`, then `model_info`), over the built-in table's card of
/// `model_info.base_model`, then of the model. A mock deployment costs
/// nothing, knowingly.
fn card_of(d: &tollgate_shared::snapshot::Deployment) -> (Option<Price>, TokenLimits) {
    let overrides = match DeploymentOverrides::of(&d.params, &d.model_info_extra) {
        Ok(overrides) => overrides,
        // The control plane validated the config; a snapshot that still
        // holds a bad cost is priced as if it set none (the table's card,
        // else unpriced and flagged), never as free.
        Err(e) => {
            tracing::warn!(deployment = %d.id, error = %e, "deployment cost ignored");
            DeploymentOverrides::default()
        }
    };
    let looked_up = d
        .model_info
        .base_model
        .as_deref()
        .map(|base| base.rsplit('/').next().unwrap_or(base))
        .and_then(pricing::builtin)
        .or_else(|| pricing::builtin(&d.upstream_model));
    let (price, limits) = overrides.over(looked_up);
    if d.params.mock_response.is_some() && !overrides.sets_price() {
        let free = Price {
            input_per_token: 0,
            output_per_token: 0,
            cached_input_per_token: 0,
            cache_creation_input_per_token: 0,
        };
        return (Some(free), limits);
    }
    (price, limits)
}

fn by_id<T: Clone>(items: &[T], id: impl Fn(&T) -> &String) -> HashMap<String, Arc<T>> {
    items
        .iter()
        .map(|item| (id(item).clone(), Arc::new(item.clone())))
        .collect()
}

/// A count LiteLLM also reads from `model_info` (`rpm`, `tpm`).
fn info_count(d: &tollgate_shared::snapshot::Deployment, key: &str) -> Option<u64> {
    d.model_info_extra
        .get(key)
        .and_then(serde_json::Value::as_u64)
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s))
}

fn models_list(names: &[String]) -> Bytes {
    let created = chrono::Utc::now().timestamp();
    let data: Vec<_> = names
        .iter()
        .map(|name| {
            serde_json::json!({
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "openai",
            })
        })
        .collect();
    Bytes::from(serde_json::json!({"object": "list", "data": data}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tollgate_shared::config::load;

    fn runtime(yaml: &str) -> Runtime {
        let loaded = load(yaml, &BTreeMap::new()).expect("valid config");
        Runtime::build(&Snapshot::from_config(&loaded)).expect("builds")
    }

    #[test]
    fn litellm_settings_are_not_request_defaults() {
        let rt = runtime(
            "model_list:\n  - model_name: g\n    litellm_params: {model: openai/x, temperature: 0.2, tags: [free], max_budget: 10, mock_timeout: true}\n",
        );
        let d = &rt.deployments()[0];
        let keys: Vec<&str> = d.default_params.keys().map(String::as_str).collect();
        assert_eq!(keys, ["temperature"]);
    }

    #[test]
    fn the_issues_settings_are_read_not_forwarded() {
        let rt = runtime(
            "model_list:\n  - model_name: g\n    litellm_params: {model: gemini/x, num_retries: 0, max_retries: 1, timeout: 0.5, stream_timeout: 0.25, litellm_trace_id: t, input_cost_per_second: 0.1, region_name: eu, use_in_pass_through: false, extra_headers: {x-team: blue}, extra_body: {top_k: 3}}\n",
        );
        let d = &rt.deployments()[0];
        assert_eq!(d.num_retries, Some(0));
        assert_eq!(d.timeout, Duration::from_millis(500));
        assert_eq!(d.stream_timeout, Duration::from_millis(250));
        let keys: Vec<&str> = d.default_params.keys().map(String::as_str).collect();
        assert_eq!(keys, ["top_k"]);
        let headers = d.extra_headers.as_ref().expect("extra_headers");
        assert_eq!(headers["x-team"], "blue");
    }

    #[test]
    fn weights_steer_the_pick() {
        let rt = runtime(
            "model_list:\n  - model_name: m\n    litellm_params: {model: openai/a, weight: 9, api_base: 'http://a'}\n  - model_name: m\n    litellm_params: {model: openai/b, weight: 1, api_base: 'http://b'}\n",
        );
        let group = rt.group("m").expect("group");
        let mut a = 0;
        for _ in 0..10_000 {
            if group.pick().map(|d| d.upstream_model.as_str()) == Some("a") {
                a += 1;
            }
        }
        // 90 % expected; ±3 % is > 10 standard deviations.
        assert!((8_700..=9_300).contains(&a), "picked a {a} times");
    }

    #[test]
    fn deployment_ids_are_addressable_models() {
        let rt = runtime(
            "model_list:\n  - model_name: m\n    litellm_params: {model: openai/a}\n    model_info: {id: dep-a}\n",
        );
        assert_eq!(
            rt.group("dep-a")
                .and_then(|g| g.pick())
                .map(|d| d.id.as_str()),
            Some("dep-a")
        );
        let body: serde_json::Value = serde_json::from_slice(&rt.models_body()).expect("json");
        assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["data"][0]["id"], "m");
    }

    #[test]
    fn names_resolve_exactly_then_by_alias_then_by_the_most_specific_wildcard() {
        let rt = runtime(
            "router_settings:\n  model_group_alias: {gpt4: exact, hidden-alias: {model: exact, hidden: true}}\nmodel_list:\n  - model_name: exact\n    litellm_params: {model: openai/a}\n  - model_name: 'openai/gpt-*'\n    litellm_params: {model: 'openai/gpt-*'}\n  - model_name: 'openai/*'\n    litellm_params: {model: 'openai/*'}\n  - model_name: '*'\n    litellm_params: {model: 'openai/*'}\n",
        );
        let resolve = |m: &str| rt.resolve(m).map(|r| (r.group.name.clone(), r.wildcard));
        assert_eq!(resolve("exact"), Some(("exact".into(), None)));
        assert_eq!(resolve("gpt4"), Some(("exact".into(), None)));
        assert_eq!(resolve("hidden-alias"), Some(("exact".into(), None)));
        assert_eq!(
            resolve("openai/gpt-4o"),
            Some(("openai/gpt-*".into(), Some("4o".into())))
        );
        assert_eq!(
            resolve("openai/o3"),
            Some(("openai/*".into(), Some("o3".into())))
        );
        assert_eq!(
            resolve("mistral-large"),
            Some(("*".into(), Some("mistral-large".into())))
        );
    }

    #[test]
    fn timeouts_fall_back_from_deployment_to_router_to_default() {
        let rt = runtime(
            "router_settings: {timeout: 30}\nmodel_list:\n  - model_name: a\n    litellm_params: {model: openai/a, timeout: 5}\n  - model_name: b\n    litellm_params: {model: openai/b}\n",
        );
        let pick = |m: &str| rt.group(m).and_then(|g| g.pick()).map(|d| d.timeout);
        assert_eq!(pick("a"), Some(Duration::from_secs(5)));
        assert_eq!(pick("b"), Some(Duration::from_secs(30)));
    }
}
