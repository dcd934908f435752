//! Admission: take allowance from local leases; when one is empty, ask the
//! control plane once for everything missing, then decide.

use super::exchange::QuotaClient;
use super::lease::Lease;
use super::plan::{Need, TRACK_ONLY};
use super::refusal::Refusal;
use dashmap::DashMap;
use std::collections::HashMap;
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
    ///
    /// A budget with a `max_budget` is decided by the control plane for
    /// every request (LiteLLM's rule needs the fleet's spend at admission,
    /// and a node holding idle budget could admit after another node's
    /// request spent the rest): the request reserves what the control
    /// plane grants it — its estimate, or what remains when that is less —
    /// and gives it all back when it ends. Other meters admit against the
    /// node's lease and ask only when it is empty.
    pub async fn admit(self: &Arc<Self>, mut needs: Vec<Need>) -> Result<Permit, Refusal> {
        if needs.is_empty() {
            return Ok(Permit::none());
        }
        let no_reservations = HashMap::new();
        let missing = match self.try_take(&needs, &no_reservations) {
            Ok(taken) => return Ok(self.permit(with_units(needs, &taken))),
            Err(missing) => missing,
        };
        let mut reserved = self.refill(&needs, &missing).await;
        let mut asked = missing;
        let mut refused: Vec<usize> = reserved
            .iter()
            .filter(|(_, r)| r.granted == 0)
            .map(|(&i, _)| i)
            .collect();
        while refused.is_empty() {
            match self.try_take(&needs, &reserved) {
                Ok(taken) => {
                    needs = with_units(needs, &taken);
                    break;
                }
                Err(missing) => {
                    // A lease that covered the request before the exchange
                    // can have run out while it was awaited: its rate
                    // window ended. That is no refusal; ask for it once.
                    let fresh: Vec<usize> = missing
                        .iter()
                        .copied()
                        .filter(|i| !asked.contains(i))
                        .collect();
                    if fresh.is_empty() {
                        refused = missing;
                        break;
                    }
                    let more = self.refill(&needs, &fresh).await;
                    refused.extend(more.iter().filter(|(_, r)| r.granted == 0).map(|(&i, _)| i));
                    reserved.extend(more);
                    asked.extend(fresh);
                }
            }
        }
        if let Some(&first) = refused.iter().min() {
            self.give_back(&needs, &reserved);
            return Err(self.refusal(&needs[first]));
        }
        for (&i, r) in &reserved {
            needs[i].units = r.granted;
            needs[i].own_reservation = Some(r.spend);
            if let Some(mut lease) = self.leases.get_mut(&needs[i].name) {
                lease.in_flight += 1;
            }
        }
        Ok(self.permit(needs))
    }

    fn permit(self: &Arc<Self>, needs: Vec<Need>) -> Permit {
        Permit {
            limiter: Some(Arc::clone(self)),
            needs,
            settled: false,
        }
    }

    /// Reservations granted for a request another meter refused go back.
    fn give_back(&self, needs: &[Need], reserved: &HashMap<usize, Reserved>) {
        let mut owed = false;
        for (&i, r) in reserved {
            if r.granted > 0
                && let Some(mut lease) = self.leases.get_mut(&needs[i].name)
            {
                lease.pending_release += r.granted;
                owed = true;
            }
        }
        if owed {
            self.owed.notify_one();
        }
    }

    /// All or nothing: takes every meter's units, or none and says which
    /// meters lacked allowance. Meters in `reserved` already hold this
    /// request's own reservation; a budget that needs one and has none yet
    /// is missing.
    fn try_take(
        &self,
        needs: &[Need],
        reserved: &HashMap<usize, Reserved>,
    ) -> Result<Vec<(usize, u64)>, Vec<usize>> {
        let now = Instant::now();
        let mut taken: Vec<(usize, u64)> = Vec::with_capacity(needs.len());
        let mut missing = Vec::new();
        for (i, need) in needs.iter().enumerate() {
            if reserved.contains_key(&i) {
                continue;
            }
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
            if reserves_alone(need, &lease) {
                missing.push(i);
            } else if lease.covers(need.units) {
                lease.take(need.units, now);
                taken.push((i, need.units));
            } else if let Some(part) = fair_share_remainder(need, &lease) {
                lease.take(part, now);
                taken.push((i, part));
            } else {
                missing.push(i);
            }
        }
        if missing.is_empty() {
            return Ok(taken);
        }
        for (i, units) in taken {
            if let Some(mut lease) = self.leases.get_mut(&needs[i].name) {
                lease.untake(units);
            }
        }
        Err(missing)
    }

    /// Asks the control plane for every missing meter at once. Returns the
    /// reservations granted to this request alone (budgets with a
    /// `max_budget`); other grants go to the node's leases. When the
    /// control plane cannot be reached, every lease falls back to its fair
    /// share and nothing is reserved alone.
    async fn refill(&self, needs: &[Need], missing: &[usize]) -> HashMap<usize, Reserved> {
        let mut alone: HashMap<String, usize> = HashMap::new();
        let updates: Vec<MeterUpdate> = missing
            .iter()
            .filter_map(|&i| {
                let need = &needs[i];
                let mut lease = self.leases.get_mut(&need.name)?;
                let want = match need.kind {
                    MeterKind::Concurrency => 0,
                    _ if reserves_alone(need, &lease) => {
                        alone.insert(need.name.clone(), i);
                        0
                    }
                    // Tracking spend only: enough for many requests, so the
                    // lease is not renewed on every one.
                    _ if need.limit == TRACK_ONLY => need.units.saturating_mul(1_000),
                    _ => need.limit,
                };
                Some(lease.update(&need.name, need.units, want))
            })
            .collect();
        let mut reserved = HashMap::new();
        match self.client.exchange(updates.clone()).await {
            Ok(response) => {
                self.fleet_size
                    .store(response.fleet_size.max(1), Ordering::Relaxed);
                let now = Instant::now();
                for grant in &response.grants {
                    let Some(mut lease) = self.leases.get_mut(&grant.meter) else {
                        continue;
                    };
                    match alone.get(&grant.meter) {
                        Some(&i) => {
                            lease.observe(grant, now);
                            reserved.insert(
                                i,
                                Reserved {
                                    granted: grant.granted,
                                    spend: grant.spend,
                                },
                            );
                        }
                        None => lease.apply(grant, now),
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
        reserved
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
                    // The spend the control plane counted when it admitted
                    // this request, when it did; else as of the last
                    // exchange.
                    let spend = need.own_reservation.unwrap_or(lease.spend);
                    out.push((
                        "x-litellm-key-spend",
                        tollgate_shared::pricing::to_usd(spend).to_string(),
                    ));
                    if need.soft_limit.is_some_and(|soft| spend >= soft) {
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

/// A budget reservation the control plane granted to one request.
#[derive(Debug, Clone, Copy)]
struct Reserved {
    granted: u64,
    /// The entity's settled spend when it was granted.
    spend: u64,
}

/// Does this budget's reservation come from the control plane for this
/// request alone? Yes for a real `max_budget` while the control plane is
/// reachable; a key that only tracks spend, a free request (nothing to
/// reserve: LiteLLM skips budgets for models that cost nothing) and a node
/// running on its fair share use the lease.
fn reserves_alone(need: &Need, lease: &Lease) -> bool {
    need.kind == MeterKind::Budget
        && need.limit != TRACK_ONLY
        && need.units > 0
        && lease.fallback_window.is_none()
}

/// On a fair share (control plane unreachable) a budget whose share is
/// smaller than the estimate still admits, reserving what is left of the
/// share: LiteLLM's rule, held per node until the control plane is back.
fn fair_share_remainder(need: &Need, lease: &Lease) -> Option<u64> {
    let left = u64::try_from(lease.allowance).ok().filter(|&a| a > 0)?;
    (need.kind == MeterKind::Budget && need.limit != TRACK_ONLY && lease.fallback_window.is_some())
        .then_some(left.min(need.units))
}

/// The units each meter really took, for settlement.
fn with_units(mut needs: Vec<Need>, taken: &[(usize, u64)]) -> Vec<Need> {
    for &(i, units) in taken {
        needs[i].units = units;
    }
    needs
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
                lease.settle(need.units, tokens, cost, need.own_reservation.is_some());
                owed |= lease.pending_overdraft > 0
                    || lease.pending_spent > 0
                    || lease.pending_release > 0;
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
    use std::time::Duration;
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

    /// A control plane for one node with LiteLLM's budget rule (what the
    /// real coordinator does, reduced to what these tests need): budgets
    /// grant `min(need, remaining)` while anything remains; rpm meters
    /// refuse everything. It records every update it receives.
    #[derive(Default)]
    struct FakeQuota {
        limit: u64,
        spend: u64,
        held: u64,
        seen: Vec<MeterUpdate>,
        /// rpm meters: grant what is asked, in windows this long (a new
        /// window per grant); else refuse every rpm.
        rpm_window_ms: Option<u64>,
        rpm_windows: u64,
        /// How long an exchange carrying a budget takes to answer.
        budget_delay: Duration,
        /// Exchange calls received.
        calls: u64,
    }

    struct FakeService(Arc<std::sync::Mutex<FakeQuota>>);

    #[tonic::async_trait]
    impl tollgate_proto::v1::quota_service_server::QuotaService for FakeService {
        async fn exchange(
            &self,
            request: tonic::Request<tollgate_proto::v1::QuotaRequest>,
        ) -> Result<tonic::Response<tollgate_proto::v1::QuotaResponse>, tonic::Status> {
            let request = request.into_inner();
            let delay = {
                let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
                q.calls += 1;
                q.budget_delay
            };
            if request
                .meters
                .iter()
                .any(|u| u.kind == MeterKind::Budget as i32)
            {
                tokio::time::sleep(delay).await;
            }
            let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let mut grants = Vec::new();
            for u in request.meters {
                let (mut resets_in_ms, mut epoch) = (0, 0);
                q.held = q.held.saturating_sub(u.release);
                q.spend += u.spent;
                let granted = if u.kind == MeterKind::Budget as i32 {
                    let remaining = q.limit.saturating_sub(q.spend + q.held);
                    u.need.min(remaining)
                } else if let Some(window) = q.rpm_window_ms {
                    q.rpm_windows += 1;
                    (resets_in_ms, epoch) = (window, q.rpm_windows);
                    u.need.max(u.want)
                } else {
                    0
                };
                if u.kind == MeterKind::Budget as i32 {
                    q.held += granted;
                }
                grants.push(tollgate_proto::v1::MeterGrant {
                    meter: u.meter.clone(),
                    granted,
                    used: q.spend + q.held,
                    limit: u.limit,
                    resets_in_ms,
                    epoch,
                    spend: q.spend,
                });
                q.seen.push(u);
            }
            Ok(tonic::Response::new(tollgate_proto::v1::QuotaResponse {
                grants,
                fleet_size: 1,
            }))
        }
    }

    async fn fake_control_plane(limit: u64) -> (Arc<Limiter>, Arc<std::sync::Mutex<FakeQuota>>) {
        serve_fake(FakeQuota {
            limit,
            ..FakeQuota::default()
        })
        .await
    }

    async fn serve_fake(fake: FakeQuota) -> (Arc<Limiter>, Arc<std::sync::Mutex<FakeQuota>>) {
        let state = Arc::new(std::sync::Mutex::new(fake));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("bound");
        let service = tollgate_proto::v1::quota_service_server::QuotaServiceServer::new(
            FakeService(Arc::clone(&state)),
        );
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let endpoint = crate::sync::connect::Endpoint::new(&format!("http://{addr}"), "t", None)
            .expect("endpoint");
        let limiter = Limiter::new(QuotaClient::new(&endpoint, None, "node-1".into()));
        (limiter, state)
    }

    fn budgeted(max_budget: u64, rpm: Option<u64>, estimate: u64) -> Vec<Need> {
        let mut k = key(rpm, None);
        k.max_budget_picos = Some(max_budget);
        plan(
            &LimitIndex::default(),
            &RequestScope {
                key: Some(&k),
                end_user: None,
                model: "m",
                budget_estimate: estimate,
            },
        )
    }

    fn budget_need(p: &Permit) -> &Need {
        p.needs()
            .iter()
            .find(|n| n.kind == MeterKind::Budget)
            .expect("a budget meter")
    }

    #[tokio::test]
    async fn an_estimate_above_what_remains_is_admitted_with_the_remainder() {
        let (limiter, state) = fake_control_plane(100).await;
        let first = limiter
            .admit(budgeted(100, None, 1_000))
            .await
            .expect("spend 0 is below the budget: admitted");
        assert_eq!(budget_need(&first).units, 100, "reserves what remains");
        assert_eq!(budget_need(&first).own_reservation, Some(0));
        // Nothing is left for a second request while the first holds it.
        let refused = limiter
            .admit(budgeted(100, None, 1))
            .await
            .err()
            .expect("spend + reserved reached the budget");
        assert_eq!((refused.limit, refused.spend), (100, 0));
        first.settle(0, 500);
        // The next exchange carries the whole reservation back and the
        // real cost (5 × the budget): the key is refused, naming its spend.
        let refused = limiter
            .admit(budgeted(100, None, 1))
            .await
            .err()
            .expect("spend is past the budget");
        assert_eq!((refused.limit, refused.spend), (100, 500));
        let q = state.lock().unwrap_or_else(|p| p.into_inner());
        let settled = q
            .seen
            .iter()
            .find(|u| u.spent > 0)
            .expect("settlement sent");
        assert_eq!((settled.release, settled.spent), (100, 500));
    }

    #[tokio::test]
    async fn an_in_process_quota_service_is_called_without_the_network() {
        // The endpoint points at a port nobody listens on: only the object
        // can answer.
        let state = Arc::new(std::sync::Mutex::new(FakeQuota {
            limit: 100,
            ..FakeQuota::default()
        }));
        let endpoint =
            crate::sync::connect::Endpoint::new("http://127.0.0.1:9", "t", None).expect("endpoint");
        let service = super::super::InProcessQuota::new(Arc::new(FakeService(Arc::clone(&state))));
        let limiter = Limiter::new(QuotaClient::new(&endpoint, Some(service), "node-1".into()));
        let first = limiter
            .admit(budgeted(100, None, 1_000))
            .await
            .expect("granted by the in-process service");
        assert_eq!(budget_need(&first).units, 100, "reserves what remains");
        let refused = limiter
            .admit(budgeted(100, None, 1))
            .await
            .err()
            .expect("the service counts the first reservation");
        assert_eq!((refused.limit, refused.spend), (100, 0));
        let q = state.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(q.seen.len(), 2, "both exchanges reached the object");
        assert!(q.seen.iter().all(|u| u.kind == MeterKind::Budget as i32));
    }

    #[tokio::test]
    async fn a_budget_never_leaves_idle_allowance_on_the_node() {
        let (limiter, state) = fake_control_plane(1_000_000).await;
        for _ in 0..3 {
            let p = limiter
                .admit(budgeted(1_000_000, None, 10))
                .await
                .expect("admitted");
            assert_eq!(budget_need(&p).units, 10);
            p.settle(0, 4);
        }
        let q = state.lock().unwrap_or_else(|p| p.into_inner());
        // Every request asked for itself (no prefetch), and each reservation
        // went back whole with its real cost.
        assert_eq!(q.seen.len(), 3);
        assert!(q.seen.iter().all(|u| u.need == 10 && u.want == 0));
        assert_eq!(
            (q.spend, q.held),
            (8, 10),
            "the third settlement is still owed"
        );
        let name = &budgeted(1, None, 1)[0].name;
        let lease = limiter.leases.get(name).expect("lease");
        assert_eq!((lease.allowance, lease.in_flight), (0, 0));
        assert_eq!((lease.pending_release, lease.pending_spent), (10, 4));
    }

    #[tokio::test]
    async fn a_reservation_goes_back_when_another_meter_refuses() {
        let (limiter, _state) = fake_control_plane(1_000).await;
        let refused = limiter
            .admit(budgeted(1_000, Some(5), 30))
            .await
            .err()
            .expect("the fake refuses every rpm");
        assert_eq!(refused.meter.dimension, Dimension::Rpm);
        let name = &budgeted(1, None, 1)[0].name;
        let lease = limiter.leases.get(name).expect("lease");
        assert_eq!((lease.pending_release, lease.in_flight), (30, 0));
    }

    /// Found by the allocation guard on a loaded machine: a key with rpm
    /// and a `max_budget` was refused "rpm exceeded" (limit 1,000,000)
    /// when its rate window ended while the request awaited its budget
    /// reservation.
    #[tokio::test]
    async fn a_rate_window_that_ends_during_the_budget_exchange_is_renewed_not_refused() {
        let (limiter, state) = serve_fake(FakeQuota {
            limit: 1_000_000,
            rpm_window_ms: Some(30),
            budget_delay: Duration::from_millis(60),
            ..FakeQuota::default()
        })
        .await;
        for n in 0..3 {
            let permit = limiter
                .admit(budgeted(1_000_000, Some(1_000_000), 10))
                .await
                .unwrap_or_else(|r| panic!("request {n} refused on {:?}", r.meter.dimension));
            permit.settle(0, 1);
        }
        let q = state.lock().unwrap_or_else(|p| p.into_inner());
        // The first exchange leased the window; each later request found it
        // ended after its budget exchange (60 ms > 30 ms) and renewed it.
        assert_eq!(q.rpm_windows, 3, "{:?}", q.seen);
    }

    /// Requests that ask while the node's calls are out share the next
    /// call, and each still gets its own reservation: the budget's rule
    /// holds exactly as with a call per request.
    #[tokio::test]
    async fn concurrent_budget_admissions_share_calls_and_keep_their_own_grants() {
        let (limiter, state) = serve_fake(FakeQuota {
            limit: 100,
            budget_delay: Duration::from_millis(50),
            ..FakeQuota::default()
        })
        .await;
        let asks = (0..20).map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move { limiter.admit(budgeted(100, None, 10)).await })
        });
        let mut admitted = Vec::new();
        let mut refused = 0;
        for ask in asks.collect::<Vec<_>>() {
            match ask.await.expect("the task ran") {
                Ok(permit) => admitted.push(permit),
                Err(_) => refused += 1,
            }
        }
        let units: Vec<u64> = admitted.iter().map(|p| budget_need(p).units).collect();
        assert_eq!(
            units,
            vec![10; 10],
            "ten reservations of 10 fill the budget of 100"
        );
        assert_eq!(refused, 10, "nothing remained for the other ten");
        let q = state.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(q.held, 100);
        // Two calls leave at once; everything that asked meanwhile went in
        // the third.
        assert!(q.calls <= 3, "{} calls for 20 requests", q.calls);
    }

    #[tokio::test]
    async fn on_a_fair_share_a_small_budget_still_serves_its_first_request() {
        let limiter = Limiter::new(QuotaClient::disabled());
        let first = limiter
            .admit(budgeted(100, None, 1_000))
            .await
            .expect("the share (all 100, one node) is below the estimate: admitted");
        assert_eq!(budget_need(&first).units, 100);
        first.settle(0, 300);
        assert!(limiter.admit(budgeted(100, None, 1)).await.is_err());
    }
}
