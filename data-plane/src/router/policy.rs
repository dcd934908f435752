//! The router's settings, resolved once per snapshot from LiteLLM's
//! `router_settings` (which win) and `litellm_settings`.

use super::error_class::PerClass;
use super::strategy::Strategy;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tollgate_shared::config::{LitellmSettings, RouterSettings};
use tollgate_shared::snapshot::Snapshot;

/// LiteLLM's defaults.
const DEFAULT_NUM_RETRIES: u32 = 3;
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);
const DEFAULT_MAX_FALLBACKS: u32 = 5;
/// LiteLLM's `allowed_fails` when only `allowed_fails_policy` is set.
const DEFAULT_ALLOWED_FAILS: u32 = 3;
/// LiteLLM's `health_check_interval`.
const DEFAULT_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(300);
/// A provider's `retry-after` is honoured up to this; beyond it the error is
/// returned rather than holding the client's connection.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct RoutingPolicy {
    pub strategy: Strategy,
    pub num_retries: u32,
    pub cooldown: Duration,
    pub cooldowns_enabled: bool,
    pub max_fallbacks: u32,
    /// Minimum wait before retrying the same deployment.
    pub retry_after: Duration,
    pub fallbacks: HashMap<String, Vec<String>>,
    pub context_window_fallbacks: HashMap<String, Vec<String>>,
    pub content_policy_fallbacks: HashMap<String, Vec<String>>,
    pub default_fallbacks: Vec<String>,
    /// `retry_policy`: retries per exception class, instead of `num_retries`.
    pub retry_policy: PerClass,
    /// `allowed_fails` / `allowed_fails_policy`: when either is set, a
    /// deployment cools down only after more failures than allowed this
    /// minute (LiteLLM's legacy rule) instead of at once.
    pub allowed_fails: Option<AllowedFails>,
    /// `general_settings.background_health_checks`: probe every deployment
    /// this often and cool down the unhealthy ones.
    pub health_check_interval: Option<Duration>,
    /// `enable_pre_call_checks`: deployments whose context window the
    /// prompt exceeds are set aside before the pick, not after a 400.
    pub pre_call_checks: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedFails {
    pub default: u32,
    pub per_class: PerClass,
}

type FallbackList = Option<Vec<std::collections::BTreeMap<String, Vec<String>>>>;

fn flatten(primary: &FallbackList, secondary: &FallbackList) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    // `router_settings` wins over `litellm_settings` for the same group.
    for list in [secondary, primary].into_iter().flatten() {
        for entry in list {
            for (group, targets) in entry {
                out.insert(group.clone(), targets.clone());
            }
        }
    }
    out
}

fn seconds(s: Option<f64>) -> Option<Duration> {
    s.filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

impl RoutingPolicy {
    /// The typed settings, plus those LiteLLM keys the snapshot carries raw
    /// (`retry_policy`, `allowed_fails_policy`, background health checks).
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let section = |name: &str| snapshot.raw_settings.get(name).and_then(Value::as_object);
        let router = section("router_settings");
        let general = section("general_settings");
        let mut policy = Self::from_settings(&snapshot.router_settings, &snapshot.litellm_settings);
        policy.retry_policy = PerClass::parse(
            "retry_policy",
            router.and_then(|r| r.get("retry_policy")),
            "Retries",
        );
        let allowed_fails_policy = PerClass::parse(
            "allowed_fails_policy",
            router.and_then(|r| r.get("allowed_fails_policy")),
            "AllowedFails",
        );
        if snapshot.router_settings.allowed_fails.is_some() || !allowed_fails_policy.is_empty() {
            policy.allowed_fails = Some(AllowedFails {
                default: snapshot
                    .router_settings
                    .allowed_fails
                    .unwrap_or(DEFAULT_ALLOWED_FAILS),
                per_class: allowed_fails_policy,
            });
        }
        let background = general
            .and_then(|g| g.get("background_health_checks"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if background {
            let interval = general
                .and_then(|g| g.get("health_check_interval"))
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite() && *s > 0.0)
                .map_or(DEFAULT_HEALTH_CHECK_INTERVAL, Duration::from_secs_f64);
            policy.health_check_interval = Some(interval);
        }
        policy
    }

    pub fn from_settings(router: &RouterSettings, litellm: &LitellmSettings) -> Self {
        let strategy = match router.routing_strategy.as_deref() {
            None => Strategy::default(),
            Some(name) => Strategy::parse(
                name,
                &router.routing_strategy_args.clone().unwrap_or_default(),
            )
            .unwrap_or_else(|| {
                tracing::warn!(
                    routing_strategy = name,
                    "routing strategy not implemented by Tollgate; using simple-shuffle"
                );
                Strategy::default()
            }),
        };
        Self {
            strategy,
            num_retries: router
                .num_retries
                .or(litellm.num_retries)
                .unwrap_or(DEFAULT_NUM_RETRIES),
            cooldown: seconds(router.cooldown_time).unwrap_or(DEFAULT_COOLDOWN),
            cooldowns_enabled: !router.disable_cooldowns.unwrap_or(false),
            max_fallbacks: router.max_fallbacks.unwrap_or(DEFAULT_MAX_FALLBACKS),
            retry_after: seconds(router.retry_after).unwrap_or(Duration::ZERO),
            fallbacks: flatten(&router.fallbacks, &litellm.fallbacks),
            context_window_fallbacks: flatten(
                &router.context_window_fallbacks,
                &litellm.context_window_fallbacks,
            ),
            content_policy_fallbacks: flatten(
                &router.content_policy_fallbacks,
                &litellm.content_policy_fallbacks,
            ),
            default_fallbacks: router
                .default_fallbacks
                .clone()
                .or_else(|| litellm.default_fallbacks.clone())
                .unwrap_or_default(),
            retry_policy: PerClass::default(),
            allowed_fails: None,
            health_check_interval: None,
            pre_call_checks: router.enable_pre_call_checks.unwrap_or(false),
        }
    }
}

/// What kind of failure happened, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    ContextWindow,
    ContentPolicy,
    /// Worth another attempt: rate limits, timeouts, 5xx, connection errors.
    Transient,
    /// The request itself is wrong (400, 422, …): retrying cannot help.
    Permanent,
    /// Credentials or the model are wrong at this deployment (401, 403, 404):
    /// another deployment or a fallback may still work.
    Deployment,
}

impl FailureClass {
    pub fn of(status: u16, code: Option<&str>) -> Self {
        match code {
            Some("context_length_exceeded") => return FailureClass::ContextWindow,
            Some("content_policy_violation" | "content_filter") => {
                return FailureClass::ContentPolicy;
            }
            _ => {}
        }
        match status {
            408 | 409 | 429 | 500..=599 => FailureClass::Transient,
            401 | 403 | 404 => FailureClass::Deployment,
            _ => FailureClass::Permanent,
        }
    }

    /// LiteLLM's cooldown rule: immediate on 429, 401, 404, 408 and 5xx.
    pub fn cools_down(status: u16) -> bool {
        matches!(status, 401 | 404 | 408 | 429 | 500..=599)
    }

    pub fn retryable(self) -> bool {
        matches!(self, FailureClass::Transient | FailureClass::Deployment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn router_settings_win_over_litellm_settings() {
        let router = RouterSettings {
            num_retries: Some(1),
            fallbacks: Some(vec![BTreeMap::from([(
                "a".to_string(),
                vec!["b".to_string()],
            )])]),
            ..RouterSettings::default()
        };
        let litellm = LitellmSettings {
            num_retries: Some(7),
            fallbacks: Some(vec![BTreeMap::from([
                ("a".to_string(), vec!["z".to_string()]),
                ("c".to_string(), vec!["d".to_string()]),
            ])]),
            ..LitellmSettings::default()
        };
        let p = RoutingPolicy::from_settings(&router, &litellm);
        assert_eq!(p.num_retries, 1);
        assert_eq!(p.fallbacks["a"], ["b"]);
        assert_eq!(p.fallbacks["c"], ["d"]);
        assert_eq!(p.cooldown, DEFAULT_COOLDOWN);
        assert_eq!(p.max_fallbacks, DEFAULT_MAX_FALLBACKS);
    }

    #[test]
    fn raw_settings_carry_retry_and_allowed_fails_policies_and_health_checks() {
        let yaml = "general_settings:\n  background_health_checks: true\n  health_check_interval: 2\nrouter_settings:\n  retry_policy: {RateLimitErrorRetries: 0}\n  allowed_fails_policy: {InternalServerErrorAllowedFails: 4}\nmodel_list: []\n";
        let loaded = tollgate_shared::config::load(yaml, &BTreeMap::new()).expect("valid config");
        let p = RoutingPolicy::from_snapshot(&Snapshot::from_config(&loaded));
        use super::super::error_class::ErrorClass;
        assert_eq!(p.retry_policy.get(ErrorClass::RateLimit), Some(0));
        let allowed = p.allowed_fails.expect("allowed_fails_policy set");
        assert_eq!(allowed.default, DEFAULT_ALLOWED_FAILS);
        assert_eq!(allowed.per_class.get(ErrorClass::InternalServer), Some(4));
        assert_eq!(p.health_check_interval, Some(Duration::from_secs(2)));

        let loaded = tollgate_shared::config::load("model_list: []\n", &BTreeMap::new())
            .expect("valid config");
        let p = RoutingPolicy::from_snapshot(&Snapshot::from_config(&loaded));
        assert!(p.allowed_fails.is_none() && p.health_check_interval.is_none());
        assert!(p.retry_policy.is_empty());
    }

    #[test]
    fn failures_are_classified_like_litellm() {
        assert_eq!(
            FailureClass::of(400, Some("context_length_exceeded")),
            FailureClass::ContextWindow
        );
        assert_eq!(
            FailureClass::of(400, Some("content_policy_violation")),
            FailureClass::ContentPolicy
        );
        assert_eq!(FailureClass::of(429, None), FailureClass::Transient);
        assert_eq!(FailureClass::of(503, Some("503")), FailureClass::Transient);
        assert_eq!(FailureClass::of(400, Some("400")), FailureClass::Permanent);
        assert_eq!(FailureClass::of(401, None), FailureClass::Deployment);
        assert!(FailureClass::cools_down(429) && FailureClass::cools_down(500));
        assert!(!FailureClass::cools_down(400) && !FailureClass::cools_down(403));
    }
}
