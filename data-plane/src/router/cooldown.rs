//! Deployments set aside after failures, and LiteLLM's rule for when a
//! failure sets one aside. Lives outside the `Runtime` so a snapshot swap
//! does not forgive a failing deployment. Per data plane.

use super::error_class::ErrorClass;
use super::policy::{FailureClass, RoutingPolicy};
use super::stats::Outcomes;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A provider's `Retry-After` sets the cooldown, up to this: a deployment
/// is not lost for a day because of one odd header.
const MAX_COOLDOWN: Duration = Duration::from_secs(3600);
/// LiteLLM's failure-rate rule: at least this many outcomes this minute …
const FAILURE_RATE_MIN_REQUESTS: u64 = 5;
/// … of which at least half failed.
const FAILURE_RATE_PERCENT: u64 = 50;

/// Both sets are read for every deployment of every pick and are nearly
/// always empty: their sizes, kept beside them, let a pick skip the lock.
#[derive(Default)]
pub struct Cooldowns {
    until: Mutex<HashMap<String, Instant>>,
    cooling: AtomicUsize,
    /// Failed their last background health check: avoided while another
    /// deployment of the group can serve, until a check passes again.
    unhealthy: Mutex<HashSet<String>>,
    unhealthy_count: AtomicUsize,
}

impl Cooldowns {
    pub fn cool(&self, deployment_id: &str, duration: Duration) {
        let until = Instant::now() + duration;
        let mut map = lock(&self.until);
        let entry = map.entry(deployment_id.to_string()).or_insert(until);
        *entry = (*entry).max(until);
        self.cooling.store(map.len(), Ordering::Relaxed);
    }

    pub fn is_cooling(&self, deployment_id: &str) -> bool {
        if self.cooling.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let now = Instant::now();
        let mut map = lock(&self.until);
        match map.get(deployment_id) {
            Some(until) if *until > now => true,
            Some(_) => {
                map.remove(deployment_id);
                self.cooling.store(map.len(), Ordering::Relaxed);
                false
            }
            None => false,
        }
    }

    /// Seconds until the first of `ids` leaves its cooldown (at least 1).
    pub fn seconds_left(&self, ids: &[&str]) -> u64 {
        let now = Instant::now();
        let map = lock(&self.until);
        ids.iter()
            .filter_map(|id| map.get(*id))
            .map(|until| until.saturating_duration_since(now).as_secs_f64().ceil() as u64)
            .min()
            .unwrap_or(1)
            .max(1)
    }

    /// What the background health check found.
    pub fn set_healthy(&self, deployment_id: &str, healthy: bool) {
        let mut set = lock(&self.unhealthy);
        if healthy {
            set.remove(deployment_id);
        } else if !set.contains(deployment_id) {
            set.insert(deployment_id.to_string());
        }
        self.unhealthy_count.store(set.len(), Ordering::Relaxed);
    }

    pub fn clear_unhealthy(&self) {
        if self.unhealthy_count.load(Ordering::Relaxed) == 0 {
            return;
        }
        lock(&self.unhealthy).clear();
        self.unhealthy_count.store(0, Ordering::Relaxed);
    }

    pub fn is_unhealthy(&self, deployment_id: &str) -> bool {
        self.unhealthy_count.load(Ordering::Relaxed) > 0
            && lock(&self.unhealthy).contains(deployment_id)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Never held across an await; poisoning only follows a panic here.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A failed call, as the cooldown rule sees it. (A stream that breaks
/// after its first chunk only counts towards the failure rate: see
/// `operation::Meter`.)
pub struct Failure<'a> {
    pub status: u16,
    pub code: Option<&'a str>,
    /// The provider's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// How long a deployment cools down after `failure`, or `None` to keep it.
/// `outcomes` are this minute's, this failure included; `group_size` is the
/// number of deployments of the group it was called for.
///
/// LiteLLM's rules: nothing when cooldowns are disabled or the group has a
/// single deployment (there would be nothing left to serve it); with
/// `allowed_fails` or `allowed_fails_policy` set, only after more failures
/// this minute than allowed; otherwise at once on 429, 401, 404, 408 and
/// 5xx, and for any other failure of the deployment when at least half of
/// at least 5 requests this minute failed. The caller's own mistakes (other
/// 4xx) never cool a deployment. The time is the provider's `Retry-After`
/// when it sent one, else `cooldown_time`.
pub fn cooldown_for(
    policy: &RoutingPolicy,
    failure: &Failure<'_>,
    group_size: usize,
    outcomes: Outcomes,
) -> Option<Duration> {
    if !policy.cooldowns_enabled || group_size <= 1 {
        return None;
    }
    let failure_class = FailureClass::of(failure.status, failure.code);
    if matches!(
        failure_class,
        FailureClass::Permanent | FailureClass::ContextWindow | FailureClass::ContentPolicy
    ) {
        return None;
    }
    let cools_at_once = FailureClass::cools_down(failure.status);
    let cool = if let Some(allowed) = &policy.allowed_fails {
        let limit = allowed
            .per_class
            .get(ErrorClass::of(failure.status, failure.code))
            .unwrap_or(allowed.default);
        cools_at_once && outcomes.failures > u64::from(limit)
    } else {
        cools_at_once || failure_rate_exceeded(outcomes)
    };
    cool.then(|| {
        failure
            .retry_after
            .unwrap_or(policy.cooldown)
            .min(MAX_COOLDOWN)
    })
}

/// LiteLLM's failure-rate rule: at least half of at least 5 requests this
/// minute failed.
pub fn failure_rate_exceeded(outcomes: Outcomes) -> bool {
    let total = outcomes.failures + outcomes.successes;
    total >= FAILURE_RATE_MIN_REQUESTS && outcomes.failures * 100 >= total * FAILURE_RATE_PERCENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::policy::AllowedFails;

    fn policy() -> RoutingPolicy {
        RoutingPolicy {
            cooldown: Duration::from_secs(5),
            cooldowns_enabled: true,
            ..RoutingPolicy::default()
        }
    }

    fn status(status: u16) -> Failure<'static> {
        Failure {
            status,
            code: None,
            retry_after: None,
        }
    }

    fn outcomes(successes: u64, failures: u64) -> Outcomes {
        Outcomes {
            successes,
            failures,
        }
    }

    #[test]
    fn cooling_ends_by_itself() {
        let c = Cooldowns::default();
        assert!(!c.is_cooling("d"));
        c.cool("d", Duration::from_millis(30));
        assert!(c.is_cooling("d"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!c.is_cooling("d"));
    }

    #[test]
    fn health_checks_mark_and_clear() {
        let c = Cooldowns::default();
        c.set_healthy("d", false);
        assert!(c.is_unhealthy("d") && !c.is_cooling("d"));
        c.set_healthy("d", true);
        assert!(!c.is_unhealthy("d"));
    }

    #[test]
    fn immediate_on_429_401_404_408_and_5xx_only() {
        let p = policy();
        let first = outcomes(0, 1);
        for s in [429, 401, 404, 408, 500, 503] {
            assert_eq!(
                cooldown_for(&p, &status(s), 2, first),
                Some(Duration::from_secs(5)),
                "{s}"
            );
        }
        for s in [400, 403, 422] {
            assert_eq!(cooldown_for(&p, &status(s), 2, first), None, "{s}");
        }
        let refused = Failure {
            status: 400,
            code: Some("content_policy_violation"),
            retry_after: None,
        };
        assert_eq!(cooldown_for(&p, &refused, 2, outcomes(0, 9)), None);
    }

    #[test]
    fn never_for_a_single_deployment_or_when_disabled() {
        assert_eq!(
            cooldown_for(&policy(), &status(429), 1, outcomes(0, 1)),
            None
        );
        let off = RoutingPolicy {
            cooldowns_enabled: false,
            ..policy()
        };
        assert_eq!(cooldown_for(&off, &status(429), 2, outcomes(0, 1)), None);
    }

    #[test]
    fn retry_after_overrides_cooldown_time() {
        let failure = Failure {
            status: 429,
            code: None,
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            cooldown_for(&policy(), &failure, 2, outcomes(0, 1)),
            Some(Duration::from_secs(1))
        );
        let absurd = Failure {
            status: 429,
            code: None,
            retry_after: Some(Duration::from_secs(86_400)),
        };
        assert_eq!(
            cooldown_for(&policy(), &absurd, 2, outcomes(0, 1)),
            Some(MAX_COOLDOWN)
        );
    }

    #[test]
    fn half_of_five_requests_failing_cools_down() {
        let p = policy();
        // 403 does not cool at once.
        let failure = status(403);
        assert_eq!(cooldown_for(&p, &failure, 2, outcomes(0, 4)), None, "< 5");
        assert_eq!(cooldown_for(&p, &failure, 2, outcomes(3, 2)), None, "40 %");
        assert_eq!(
            cooldown_for(&p, &failure, 2, outcomes(3, 3)),
            Some(Duration::from_secs(5)),
            "50 % of 6"
        );
        assert!(!failure_rate_exceeded(outcomes(0, 4)));
        assert!(!failure_rate_exceeded(outcomes(6, 5)));
        assert!(failure_rate_exceeded(outcomes(5, 5)));
    }

    #[test]
    fn allowed_fails_replaces_the_immediate_rule() {
        let mut p = policy();
        p.allowed_fails = Some(AllowedFails {
            default: 2,
            per_class: crate::router::error_class::PerClass::parse(
                "allowed_fails_policy",
                Some(&serde_json::json!({"RateLimitErrorAllowedFails": 0})),
                "AllowedFails",
            ),
        });
        assert_eq!(cooldown_for(&p, &status(500), 2, outcomes(0, 2)), None);
        assert!(cooldown_for(&p, &status(500), 2, outcomes(0, 3)).is_some());
        assert!(
            cooldown_for(&p, &status(429), 2, outcomes(9, 1)).is_some(),
            "per class"
        );
        assert_eq!(
            cooldown_for(&p, &status(403), 2, outcomes(0, 9)),
            None,
            "only statuses LiteLLM cools"
        );
    }
}
