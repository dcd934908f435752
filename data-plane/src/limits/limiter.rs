//! Admission: take allowance from local leases; when one is empty, ask the
//! control plane once for everything missing, then decide.

use super::exchange::QuotaClient;
use super::lease::Lease;
use super::plan::{Need, TRACK_ONLY};
use super::refusal::Refusal;
use dashmap::DashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use tokio::sync::Notify;
use tollgate_proto::v1::{MeterKind, MeterUpdate};
use tollgate_shared::meters::{Dimension, Scope};

pub struct Limiter {
    pub(super) leases: DashMap<String, Lease>,
    pub(super) client: QuotaClient,
    /// Data planes in the fleet as the control plane last counted them.
    pub(super) fleet_size: AtomicU32,
    /// Wakes the keeper when something is owed to the control plane.
    pub(super) owed: Notify,
    started: Instant,
}

impl Limiter {
    pub fn new(client: QuotaClient) -> Arc<Self> {
        Arc::new(Self {
            leases: DashMap::new(),
            client,
            fleet_size: AtomicU32::new(1),
            owed: Notify::new(),
            started: Instant::now(),
        })
    }

    /// Admits a request on every meter in `needs`, or refuses it on the
    /// first meter whose fleet-wide limit is reached.
    pub async fn admit(self: &Arc<Self>, needs: Vec<Need>) -> Result<Permit, Refusal> {
        if needs.is_empty() {
            return Ok(Permit::none());
        }
        let missing = match self.try_take(&needs) {
            Ok(()) => return Ok(self.permit(needs)),
            Err(missing) => missing,
        };
        self.refill(&needs, &missing).await;
        match self.try_take(&needs) {
            Ok(()) => Ok(self.permit(needs)),
            Err(missing) => Err(self.refusal(&needs[missing[0]])),
        }
    }

    fn permit(self: &Arc<Self>, needs: Vec<Need>) -> Permit {
        Permit {
            limiter: Some(Arc::clone(self)),
            needs,
            settled: false,
        }
    }

    /// All or nothing: takes every meter's units, or none and says which
    /// meters lacked allowance.
    fn try_take(&self, needs: &[Need]) -> Result<(), Vec<usize>> {
        let now = Instant::now();
        let mut taken = Vec::with_capacity(needs.len());
        let mut missing = Vec::new();
        for (i, need) in needs.iter().enumerate() {
            // Look up before `entry`, which would clone the name every time.
            let mut lease = match self.leases.get_mut(&need.name) {
                Some(lease) => lease,
                None => self
                    .leases
                    .entry(need.name.clone())
                    .or_insert_with(|| Lease::new(need.kind, need.limit, need.window_ms, now)),
            };
            lease.limit = need.limit;
            lease.expire(now);
            if lease.covers(need.units) {
                lease.take(need.units, now);
                taken.push(i);
            } else {
                missing.push(i);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        for i in taken {
            if let Some(mut lease) = self.leases.get_mut(&needs[i].name) {
                lease.untake(needs[i].units);
            }
        }
        Err(missing)
    }

    async fn refill(&self, needs: &[Need], missing: &[usize]) {
        let updates: Vec<MeterUpdate> = missing
            .iter()
            .filter_map(|&i| {
                let need = &needs[i];
                let mut lease = self.leases.get_mut(&need.name)?;
                let want = match need.kind {
                    MeterKind::Concurrency => 0,
                    // Tracking spend only: enough for many requests, so the
                    // lease is not renewed on every one.
                    _ if need.limit == TRACK_ONLY => need.units.saturating_mul(1_000),
                    _ => need.limit,
                };
                Some(lease.update(&need.name, need.units, want))
            })
            .collect();
        match self.client.exchange(updates.clone()).await {
            Ok(response) => {
                self.fleet_size
                    .store(response.fleet_size.max(1), Ordering::Relaxed);
                let now = Instant::now();
                for grant in &response.grants {
                    if let Some(mut lease) = self.leases.get_mut(&grant.meter) {
                        lease.apply(grant, now);
                    }
                }
            }
            Err(e) => {
                tracing::debug!("quota exchange failed, using fair shares: {e}");
                let now = Instant::now();
                let fleet = self.fleet_size.load(Ordering::Relaxed);
                for u in &updates {
                    if let Some(mut lease) = self.leases.get_mut(&u.meter) {
                        lease.unsend(u);
                        let window = self.local_window(lease.window_ms);
                        lease.fall_back(fleet, now, window);
                    }
                }
            }
        }
    }

    fn local_window(&self, window_ms: u64) -> u64 {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Budgets and concurrency have no window: one fair share per outage
        // start is enough, renewed every minute.
        elapsed / window_ms.max(60_000)
    }

    fn refusal(&self, need: &Need) -> Refusal {
        let lease = self.leases.get(&need.name);
        Refusal {
            meter: need.meter.clone(),
            limit: need.limit,
            used: lease.as_ref().map_or(0, |l| l.fleet_used),
            spend: lease.as_ref().map_or(0, |l| l.spend),
            resets_at: lease.as_ref().and_then(|l| l.resets_at),
        }
    }

    /// OpenAI's `x-ratelimit-*` headers for the key's own rpm and tpm, and
    /// LiteLLM's `x-litellm-key-spend` when the key has a budget. Remaining
    /// is fleet-wide as of this node's last exchange.
    pub fn headers(&self, needs: &[Need]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for need in needs {
            if !matches!(need.meter.scope, Scope::Key(_)) {
                continue;
            }
            let Some(lease) = self.leases.get(&need.name) else {
                continue;
            };
            let reset = lease.resets_at.map(|at| {
                format!(
                    "{}s",
                    at.saturating_duration_since(Instant::now()).as_secs()
                )
            });
            let (limit, remaining, reset_name) = match need.meter.dimension {
                Dimension::Rpm => (
                    "x-ratelimit-limit-requests",
                    "x-ratelimit-remaining-requests",
                    "x-ratelimit-reset-requests",
                ),
                Dimension::Tpm => (
                    "x-ratelimit-limit-tokens",
                    "x-ratelimit-remaining-tokens",
                    "x-ratelimit-reset-tokens",
                ),
                Dimension::Budget => {
                    out.push((
                        "x-litellm-key-spend",
                        tollgate_shared::pricing::to_usd(lease.spend).to_string(),
                    ));
                    if need.soft_limit.is_some_and(|soft| lease.spend >= soft) {
                        // A soft budget never refuses: it flags.
                        out.push(("x-litellm-soft-budget-exceeded", "true".to_string()));
                    }
                    continue;
                }
                Dimension::Parallel => continue,
            };
            out.push((limit, lease.limit.to_string()));
            out.push((remaining, lease.remaining().to_string()));
            if let Some(reset) = reset {
                out.push((reset_name, reset));
            }
        }
        out
    }
}

/// A request's hold on its meters. Settle it with the real usage; dropping
/// it unsettled (an error before any usage) charges nothing and frees
/// concurrency slots and budget reservations.
pub struct Permit {
    limiter: Option<Arc<Limiter>>,
    needs: Vec<Need>,
    settled: bool,
}

impl Permit {
    pub fn none() -> Self {
        Self {
            limiter: None,
            needs: Vec::new(),
            settled: true,
        }
    }

    pub fn needs(&self) -> &[Need] {
        &self.needs
    }

    pub fn limiter(&self) -> Option<&Arc<Limiter>> {
        self.limiter.as_ref()
    }

    pub fn settle(mut self, tokens: u64, cost: u64) {
        self.settle_inner(tokens, cost);
    }

    fn settle_inner(&mut self, tokens: u64, cost: u64) {
        if self.settled {
            return;
        }
        self.settled = true;
        let Some(limiter) = &self.limiter else {
            return;
        };
        let mut owed = false;
        for need in &self.needs {
            if let Some(mut lease) = limiter.leases.get_mut(&need.name) {
                lease.settle(need.units, tokens, cost);
                owed |= lease.pending_overdraft > 0 || lease.pending_spent > 0;
            }
        }
        if owed {
            limiter.owed.notify_one();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.settle_inner(0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitIndex;
    use crate::limits::plan::{RequestScope, plan};
    use tollgate_shared::keys::KeyHash;
    use tollgate_shared::snapshot::VirtualKey;

    fn key(rpm: Option<u64>, parallel: Option<u64>) -> VirtualKey {
        VirtualKey {
            token: KeyHash::of("sk-test"),
            key_name: "sk-...test".into(),
            alias: None,
            models: vec![],
            expires_at_ms: None,
            blocked: false,
            team_id: None,
            user_id: None,
            rpm_limit: rpm,
            tpm_limit: None,
            max_parallel_requests: parallel,
            model_rpm_limit: Default::default(),
            model_tpm_limit: Default::default(),
            max_budget_picos: None,
            soft_budget_picos: None,
            aliases: Default::default(),
            tags: vec![],
        }
    }

    fn needs(k: &VirtualKey) -> Vec<Need> {
        plan(
            &LimitIndex::default(),
            &RequestScope {
                key: Some(k),
                end_user: None,
                model: "m",
                budget_estimate: 0,
            },
        )
    }

    #[tokio::test]
    async fn without_a_control_plane_a_node_keeps_to_its_fair_share() {
        let limiter = Limiter::new(QuotaClient::disabled());
        limiter.fleet_size.store(2, Ordering::Relaxed);
        let k = key(Some(10), None);
        let mut admitted = 0;
        for _ in 0..20 {
            if let Ok(p) = limiter.admit(needs(&k)).await {
                admitted += 1;
                p.settle(5, 0);
            }
        }
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn concurrency_slots_return_when_requests_end() {
        let limiter = Limiter::new(QuotaClient::disabled());
        let k = key(None, Some(2));
        let a = limiter.admit(needs(&k)).await.expect("first");
        let _b = limiter.admit(needs(&k)).await.expect("second");
        let refused = limiter.admit(needs(&k)).await.err().expect("third refused");
        assert_eq!(refused.limit, 2);
        drop(a);
        assert!(limiter.admit(needs(&k)).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_nothing_limits_touches_nothing() {
        let limiter = Limiter::new(QuotaClient::disabled());
        let master = plan(
            &LimitIndex::default(),
            &RequestScope {
                key: None,
                end_user: None,
                model: "m",
                budget_estimate: 10,
            },
        );
        assert!(master.is_empty());
        assert!(limiter.admit(master).await.is_ok());
        assert!(limiter.leases.is_empty());
        // A key without limits only tracks its spend (x-litellm-key-spend).
        let k = key(None, None);
        let tracked = needs(&k);
        assert_eq!(tracked.len(), 1);
        assert_eq!(tracked[0].limit, TRACK_ONLY);
        assert!(limiter.admit(tracked).await.is_ok());
    }
}
