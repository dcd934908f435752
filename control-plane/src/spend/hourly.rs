//! What a batch of new spend logs adds to `usage_hourly` (the dashboard's
//! rollup): per UTC hour, per dimension value, counts, tokens, spend and a
//! latency histogram. Percentiles over a range are read from summed
//! histograms ([`quantile_ms`]), exact to the bucket (≈ ±19 %).

use crate::db::entities::spend_log;
use std::collections::BTreeMap;
pub use tollgate_migrations::LATENCY_BUCKETS;

/// A dimension the dashboard groups by; its `usage_hourly.dim` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    Global,
    Model,
    Key,
    Team,
    User,
    EndUser,
    Provider,
}

impl Dim {
    pub const ALL: [Dim; 7] = [
        Dim::Global,
        Dim::Model,
        Dim::Key,
        Dim::Team,
        Dim::User,
        Dim::EndUser,
        Dim::Provider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Global => "global",
            Dim::Model => "model",
            Dim::Key => "key",
            Dim::Team => "team",
            Dim::User => "user",
            Dim::EndUser => "end_user",
            Dim::Provider => "provider",
        }
    }

    pub fn parse(text: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HourKey {
    pub dim: Dim,
    /// "YYYY-MM-DDTHH", UTC, of the request's start.
    pub hour: String,
    pub dim_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourSums {
    pub requests: i64,
    pub errors: i64,
    pub spend_picos: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub latency_ms_sum: i64,
    pub overhead_us_sum: i64,
    pub latency: [i64; LATENCY_BUCKETS],
}

impl Default for HourSums {
    fn default() -> Self {
        Self {
            requests: 0,
            errors: 0,
            spend_picos: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            latency_ms_sum: 0,
            overhead_us_sum: 0,
            latency: [0; LATENCY_BUCKETS],
        }
    }
}

/// The histogram bucket of a latency: i with 2^(i/2) ≤ ms < 2^((i+1)/2).
pub fn bucket_of(ms: i64) -> usize {
    if ms <= 1 {
        return 0;
    }
    let i = (2.0 * (ms as f64).log2()).floor();
    (i.max(0.0) as usize).min(LATENCY_BUCKETS - 1)
}

/// The q-quantile (0..1) of a histogram, in ms: the geometric middle of the
/// bucket the quantile falls in; `None` for an empty histogram.
pub fn quantile_ms(hist: &[i64; LATENCY_BUCKETS], q: f64) -> Option<f64> {
    let total: i64 = hist.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0i64;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(2f64.powf((i as f64 + 0.5) / 2.0));
        }
    }
    None
}

impl HourSums {
    fn of(log: &spend_log::Model) -> Self {
        let latency_ms = (log.end_time - log.start_time).num_milliseconds().max(0);
        let mut latency = [0; LATENCY_BUCKETS];
        latency[bucket_of(latency_ms)] = 1;
        Self {
            requests: 1,
            errors: i64::from(log.status != "success"),
            spend_picos: log.spend_picos,
            prompt_tokens: log.prompt_tokens,
            completion_tokens: log.completion_tokens,
            cached_tokens: log.cached_tokens,
            latency_ms_sum: latency_ms,
            overhead_us_sum: log.overhead_us.max(0),
            latency,
        }
    }

    pub fn add(&mut self, o: &Self) {
        self.requests = self.requests.saturating_add(o.requests);
        self.errors = self.errors.saturating_add(o.errors);
        self.spend_picos = self.spend_picos.saturating_add(o.spend_picos);
        self.prompt_tokens = self.prompt_tokens.saturating_add(o.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(o.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(o.cached_tokens);
        self.latency_ms_sum = self.latency_ms_sum.saturating_add(o.latency_ms_sum);
        self.overhead_us_sum = self.overhead_us_sum.saturating_add(o.overhead_us_sum);
        for (a, b) in self.latency.iter_mut().zip(o.latency.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// Takes `o` away: a month's rows less the part outside a range.
    pub fn subtract(&mut self, o: &Self) {
        self.requests = self.requests.saturating_sub(o.requests);
        self.errors = self.errors.saturating_sub(o.errors);
        self.spend_picos = self.spend_picos.saturating_sub(o.spend_picos);
        self.prompt_tokens = self.prompt_tokens.saturating_sub(o.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_sub(o.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_sub(o.cached_tokens);
        self.latency_ms_sum = self.latency_ms_sum.saturating_sub(o.latency_ms_sum);
        self.overhead_us_sum = self.overhead_us_sum.saturating_sub(o.overhead_us_sum);
        for (a, b) in self.latency.iter_mut().zip(o.latency.iter()) {
            *a = a.saturating_sub(*b);
        }
    }
}

/// Adds one new log to the hourly rows it counts in.
pub fn add(rows: &mut BTreeMap<HourKey, HourSums>, log: &spend_log::Model) {
    let sums = HourSums::of(log);
    let hour = log.start_time.format("%Y-%m-%dT%H").to_string();
    let some = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
    let values = [
        (Dim::Global, Some(String::new())),
        (Dim::Model, Some(log.model_group.clone())),
        (Dim::Key, some(Some(log.api_key.as_str()))),
        (Dim::Team, some(log.team_id.as_deref())),
        (Dim::User, some(log.user_id.as_deref())),
        (Dim::EndUser, some(log.end_user.as_deref())),
        (Dim::Provider, Some(log.provider.clone())),
    ];
    for (dim, id) in values {
        let Some(dim_id) = id else { continue };
        rows.entry(HourKey {
            dim,
            hour: hour.clone(),
            dim_id,
        })
        .or_default()
        .add(&sums);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_double_every_two_steps() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(2), 2);
        assert_eq!(bucket_of(3), 3);
        assert_eq!(bucket_of(4), 4);
        assert_eq!(bucket_of(1_000), 19);
        assert_eq!(bucket_of(i64::MAX), LATENCY_BUCKETS - 1);
    }

    #[test]
    fn quantiles_fall_in_the_bucket_holding_their_rank() {
        let mut hist = [0; LATENCY_BUCKETS];
        hist[bucket_of(10)] = 90;
        hist[bucket_of(1_000)] = 10;
        let p50 = quantile_ms(&hist, 0.5).expect("p50");
        assert!((8.0..=12.0).contains(&p50), "{p50}");
        let p95 = quantile_ms(&hist, 0.95).expect("p95");
        assert!((724.0..=1_449.0).contains(&p95), "{p95}");
        assert_eq!(quantile_ms(&[0; LATENCY_BUCKETS], 0.5), None);
    }
}
