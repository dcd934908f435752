//! What the router knows about each deployment from its own traffic:
//! requests in flight (least-busy), recent latency (latency-based), and the
//! current minute's requests, tokens and failures ([`DeploymentUsage`]:
//! usage-based routing, `rpm`/`tpm` limits, the failure-rate cooldown). Kept
//! outside the `Runtime`, like cooldowns, so a snapshot swap keeps it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Weight of the newest sample in the latency average: recent enough to
/// follow a deployment that slows down, smooth enough to ignore one outlier.
const EWMA_ALPHA: f64 = 0.3;

#[derive(Default)]
struct Entry {
    in_flight: Arc<AtomicU64>,
    /// Milliseconds, and when last updated; `None` until the first sample.
    latency: Option<(f64, Instant)>,
}

#[derive(Default)]
pub struct Stats {
    entries: Mutex<HashMap<String, Entry>>,
    usage: DeploymentUsage,
}

/// Counts a request as in flight until dropped.
pub struct InFlight(Arc<AtomicU64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    /// This minute's requests, tokens and failures per deployment.
    pub fn usage(&self) -> &DeploymentUsage {
        &self.usage
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Never held across an await.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn entry<'a>(entries: &'a mut HashMap<String, Entry>, deployment_id: &str) -> &'a mut Entry {
        entry_of(entries, deployment_id)
    }

    pub fn start(&self, deployment_id: &str) -> InFlight {
        let counter = Arc::clone(&Self::entry(&mut self.lock(), deployment_id).in_flight);
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }

    pub fn in_flight(&self, deployment_id: &str) -> u64 {
        self.lock()
            .get(deployment_id)
            .map_or(0, |e| e.in_flight.load(Ordering::Relaxed))
    }

    /// Time to the full answer, or to the first chunk of a stream. A
    /// measure older than `ttl` is forgotten, not averaged in: a deployment
    /// that recovered must not carry its old slowness.
    pub fn record_latency(&self, deployment_id: &str, took: Duration, ttl: Duration) {
        let sample = took.as_secs_f64() * 1000.0;
        let mut entries = self.lock();
        let entry = Self::entry(&mut entries, deployment_id);
        let average = match entry.latency {
            Some((avg, at)) if at.elapsed() <= ttl => avg + EWMA_ALPHA * (sample - avg),
            _ => sample,
        };
        entry.latency = Some((average, Instant::now()));
    }

    /// A failure counts as a slow answer, so latency-based routing steers
    /// away from failing deployments too (LiteLLM penalises them likewise).
    pub fn record_failure(&self, deployment_id: &str, timeout: Duration, ttl: Duration) {
        self.record_latency(deployment_id, timeout.min(Duration::from_secs(60)), ttl);
    }

    /// The recent latency, unless older than `ttl` (LiteLLM's
    /// `routing_strategy_args.ttl`): an expired measure counts as none, so a
    /// deployment abandoned for being slow gets tried again and can win back
    /// its traffic.
    pub fn latency_ms(&self, deployment_id: &str, ttl: Duration) -> Option<f64> {
        self.lock()
            .get(deployment_id)
            .and_then(|e| e.latency)
            .filter(|(_, at)| at.elapsed() <= ttl)
            .map(|(avg, _)| avg)
    }
}

/// The entry for `deployment_id`. The key is allocated only the first time
/// a deployment is seen: `HashMap::entry` would allocate it on every request.
fn entry_of<'a, V: Default>(entries: &'a mut HashMap<String, V>, deployment_id: &str) -> &'a mut V {
    if entries.contains_key(deployment_id) {
        match entries.get_mut(deployment_id) {
            Some(entry) => entry,
            None => unreachable!("checked just above, under the same lock"),
        }
    } else {
        entries.entry(deployment_id.to_string()).or_default()
    }
}

/// One deployment's counts in one wall-clock minute.
#[derive(Debug, Default, Clone, Copy)]
struct Minute {
    /// Minutes since the Unix epoch.
    minute: u64,
    requests: u64,
    tokens: u64,
    successes: u64,
    failures: u64,
}

/// How a deployment fared this minute, for the failure-rate cooldown.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcomes {
    pub successes: u64,
    pub failures: u64,
}

/// Requests and tokens per deployment in the current minute: what
/// `usage-based-routing-v2` ranks by and what `rpm`/`tpm` are checked
/// against, plus successes and failures for LiteLLM's failure-rate cooldown.
///
/// This is the one seam for deployment usage: [`DeploymentUsage::used`] is
/// the only read the strategies and limit checks make, so fleet-wide counts
/// (quota leases) plug in here. Minutes are wall-clock minutes, not minutes
/// since start, so every data plane of a fleet counts the same window.
#[derive(Default)]
pub struct DeploymentUsage {
    minutes: Mutex<HashMap<String, Minute>>,
}

fn current_minute() -> u64 {
    // A clock before 1970 is a broken machine: minute 0 keeps counting.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

impl DeploymentUsage {
    /// `(requests, tokens)` sent to `deployment_id` this minute.
    pub fn used(&self, deployment_id: &str) -> (u64, u64) {
        self.used_at(deployment_id, current_minute())
    }

    /// A request is sent to `deployment_id` (counted against its `rpm` from
    /// the moment it leaves, as LiteLLM does before the call).
    pub fn record_request(&self, deployment_id: &str) {
        self.update(deployment_id, current_minute(), |m| m.requests += 1);
    }

    /// `deployment_id` answered, using `tokens` (prompt + completion).
    pub fn record(&self, deployment_id: &str, tokens: u64) {
        self.update(deployment_id, current_minute(), |m| {
            m.tokens = m.tokens.saturating_add(tokens);
            m.successes += 1;
        });
    }

    /// The fleet has used `deployment_id`'s `rpm` or `tpm` for this minute
    /// (the control plane refused a lease): skip it until the next one.
    pub fn exhaust(&self, deployment_id: &str, rpm: Option<u64>, tpm: Option<u64>) {
        self.update(deployment_id, current_minute(), |m| {
            m.requests = m.requests.max(rpm.unwrap_or(0));
            m.tokens = m.tokens.max(tpm.unwrap_or(0));
        });
    }

    /// `deployment_id` failed; returns this minute's outcomes including it.
    pub fn record_failure(&self, deployment_id: &str) -> Outcomes {
        self.update(deployment_id, current_minute(), |m| m.failures += 1)
    }

    /// This minute's successes and failures of `deployment_id`.
    pub fn outcomes(&self, deployment_id: &str) -> Outcomes {
        let minute = current_minute();
        self.lock()
            .get(deployment_id)
            .filter(|m| m.minute == minute)
            .map_or_else(Outcomes::default, outcomes_of)
    }

    fn used_at(&self, deployment_id: &str, minute: u64) -> (u64, u64) {
        self.lock()
            .get(deployment_id)
            .filter(|m| m.minute == minute)
            .map_or((0, 0), |m| (m.requests, m.tokens))
    }

    fn update(
        &self,
        deployment_id: &str,
        minute: u64,
        change: impl FnOnce(&mut Minute),
    ) -> Outcomes {
        let mut minutes = self.lock();
        let entry = entry_of(&mut minutes, deployment_id);
        if entry.minute != minute {
            *entry = Minute {
                minute,
                ..Minute::default()
            };
        }
        change(entry);
        outcomes_of(entry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Minute>> {
        // Never held across an await.
        self.minutes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn outcomes_of(m: &Minute) -> Outcomes {
    Outcomes {
        successes: m.successes,
        failures: m.failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_the_current_minute_only() {
        let u = DeploymentUsage::default();
        let minute = 1_000;
        assert_eq!(u.used_at("d", minute), (0, 0));
        u.update("d", minute, |m| m.requests += 2);
        u.update("d", minute, |m| m.tokens += 30);
        assert_eq!(u.used_at("d", minute), (2, 30));
        assert_eq!(u.used_at("other", minute), (0, 0));
        // A new minute starts from zero.
        u.update("d", minute + 1, |m| m.requests += 1);
        assert_eq!(u.used_at("d", minute + 1), (1, 0));
        assert_eq!(u.used_at("d", minute), (0, 0));
    }

    #[test]
    fn outcomes_count_successes_and_failures() {
        let u = DeploymentUsage::default();
        u.record("d", 1);
        let after = u.record_failure("d");
        assert_eq!(
            after,
            Outcomes {
                successes: 1,
                failures: 1
            }
        );
        assert_eq!(u.outcomes("d"), after);
    }

    #[test]
    fn in_flight_counts_until_dropped() {
        let s = Stats::default();
        let a = s.start("d");
        let b = s.start("d");
        assert_eq!(s.in_flight("d"), 2);
        drop(a);
        assert_eq!(s.in_flight("d"), 1);
        drop(b);
        assert_eq!(s.in_flight("d"), 0);
    }

    #[test]
    fn latency_follows_recent_samples() {
        let s = Stats::default();
        let ttl = Duration::from_secs(60);
        assert_eq!(s.latency_ms("d", ttl), None);
        s.record_latency("d", Duration::from_millis(100), ttl);
        assert_eq!(s.latency_ms("d", ttl), Some(100.0));
        for _ in 0..20 {
            s.record_latency("d", Duration::from_millis(10), ttl);
        }
        assert!(s.latency_ms("d", ttl).is_some_and(|l| l < 11.0));
        assert_eq!(s.latency_ms("d", Duration::ZERO), None, "expired");
        s.record_latency("d", Duration::from_millis(500), ttl);
        std::thread::sleep(Duration::from_millis(5));
        s.record_latency("d", Duration::from_millis(2), Duration::from_millis(1));
        assert_eq!(
            s.latency_ms("d", ttl),
            Some(2.0),
            "an expired measure is not averaged in"
        );
    }
}
