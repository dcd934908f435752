//! What the router knows about each deployment from its own traffic:
//! requests in flight (least-busy) and recent latency (latency-based). Kept
//! outside the `Runtime`, like cooldowns, so a snapshot swap keeps it. Per
//! data plane.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

/// Counts a request as in flight until dropped.
pub struct InFlight(Arc<AtomicU64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Never held across an await.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry for `deployment_id`. The key is allocated only the first
    /// time a deployment is seen: `HashMap::entry` would allocate it on
    /// every request.
    fn entry<'a>(entries: &'a mut HashMap<String, Entry>, deployment_id: &str) -> &'a mut Entry {
        if entries.contains_key(deployment_id) {
            match entries.get_mut(deployment_id) {
                Some(entry) => entry,
                None => unreachable!("checked just above, under the same lock"),
            }
        } else {
            entries.entry(deployment_id.to_string()).or_default()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
