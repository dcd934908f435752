//! `routing_strategy`: which healthy deployment gets the next request.

use super::stats::Stats;
use crate::runtime::Deployment;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Strategy {
    /// Weighted random by `weight`, else `rpm`, else `tpm` (LiteLLM's default).
    #[default]
    SimpleShuffle,
    /// Fewest requests in flight.
    LeastBusy,
    /// Lowest recent latency (time to first chunk for streams); picks at
    /// random among those within `buffer` (fraction) of the best; measures
    /// older than `ttl` are forgotten.
    LatencyBased {
        buffer: f64,
        ttl: std::time::Duration,
    },
    /// Cheapest per token; unknown prices last.
    CostBased,
    /// `usage-based-routing-v2`: fewest tokens this minute (deployments at
    /// their `rpm`/`tpm` are already filtered out, for every strategy).
    UsageBased,
}

impl Strategy {
    /// How long a latency measure counts (latency-based routing's `ttl`).
    pub fn latency_ttl(self) -> std::time::Duration {
        match self {
            Strategy::LatencyBased { ttl, .. } => ttl,
            _ => std::time::Duration::from_secs(3600),
        }
    }

    /// `None` for names Tollgate does not implement (the caller warns and
    /// uses the default).
    pub fn parse(
        name: &str,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<Strategy> {
        let number = |key: &str| {
            args.get(key)
                .and_then(serde_json::Value::as_f64)
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        match name {
            "simple-shuffle" => Some(Strategy::SimpleShuffle),
            "least-busy" => Some(Strategy::LeastBusy),
            "latency-based-routing" => Some(Strategy::LatencyBased {
                buffer: number("lowest_latency_buffer").unwrap_or(0.0),
                // LiteLLM's default window: one hour.
                ttl: std::time::Duration::from_secs_f64(number("ttl").unwrap_or(3600.0)),
            }),
            "cost-based-routing" => Some(Strategy::CostBased),
            "usage-based-routing-v2" => Some(Strategy::UsageBased),
            _ => None,
        }
    }

    /// Picks among `candidates` (already filtered for health and `order`).
    /// `shuffle` is the weighted random pick used by simple-shuffle and to
    /// break ties.
    pub fn choose<'a>(
        self,
        candidates: &[&'a Arc<Deployment>],
        stats: &Stats,
        shuffle: impl Fn(&[&'a Arc<Deployment>]) -> Option<&'a Arc<Deployment>>,
    ) -> Option<&'a Arc<Deployment>> {
        // Each score is read once: reading one may take a lock.
        let best_by = |score: &dyn Fn(&Deployment) -> f64, tolerance: f64| {
            let scored: Vec<(f64, &'a Arc<Deployment>)> =
                candidates.iter().map(|d| (score(d), *d)).collect();
            let best = scored.iter().map(|(s, _)| *s).fold(f64::INFINITY, f64::min);
            let near: Vec<&'a Arc<Deployment>> = scored
                .iter()
                .filter(|(s, _)| *s <= best * (1.0 + tolerance) || *s == best)
                .map(|(_, d)| *d)
                .collect();
            shuffle(&near)
        };
        match self {
            Strategy::SimpleShuffle => shuffle(candidates),
            Strategy::LeastBusy => best_by(&|d| stats.in_flight(&d.id) as f64, 0.0),
            // A deployment never measured scores 0: it gets tried, and then
            // measured.
            Strategy::LatencyBased { buffer, ttl } => {
                best_by(&|d| stats.latency_ms(&d.id, ttl).unwrap_or(0.0), buffer)
            }
            Strategy::CostBased => best_by(
                &|d| {
                    d.price.map_or(f64::INFINITY, |p| {
                        (p.input_per_token + p.output_per_token) as f64
                    })
                },
                0.0,
            ),
            Strategy::UsageBased => best_by(&|d| stats.usage().used(&d.id).1 as f64, 0.0),
        }
    }
}
