//! The fleet's meters, in memory: how much of each limit is leased, to
//! whom, in which window. Pure and synchronous (the clock is a parameter)
//! so every rule is unit-tested; the gRPC service does the I/O around it.
//!
//! Invariant: on every meter, what is leased plus what is settled never
//! exceeds the limit because of a grant — only overdrafts (a request that
//! used more tokens or money than it reserved) can push it past, and those
//! are bounded by one request's excess per request in flight.
//!
//! Budgets follow LiteLLM's rule: a request is admitted while settled spend
//! plus what is reserved is below `max_budget` (at or below it for the
//! entities LiteLLM compares with `>`), and it reserves at most what
//! remains — an estimate larger than the remainder never refuses it.

use std::collections::HashMap;
use std::sync::Mutex;

/// A node that has not exchanged for this long is gone: what it held is
/// freed, so a crashed data plane cannot pin a fleet's concurrency slots or
/// budget. Data planes holding anything exchange at least every 5 s.
pub const NODE_TTL_MS: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Requests,
    Tokens,
    Concurrency,
    Budget,
}

#[derive(Debug, Clone, Default)]
pub struct Update {
    pub meter: String,
    pub limit: u64,
    pub window_ms: u64,
    pub need: u64,
    pub want: u64,
    pub overdraft: u64,
    pub release: u64,
    pub spent: u64,
    pub epoch: u64,
    /// Budgets: LiteLLM refuses this entity only once its spend is above
    /// `max_budget` (`spend > max_budget`: teams, end users, the proxy),
    /// not when spend reaches it (`>=`: keys, users).
    pub admits_at_limit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub meter: String,
    pub granted: u64,
    pub used: u64,
    pub limit: u64,
    pub resets_in_ms: u64,
    pub epoch: u64,
    pub spend: u64,
}

/// Where a budget meter starts: the entity's settled spend and when its
/// budget resets, read from the database on first use.
#[derive(Debug, Clone, Copy, Default)]
pub struct BudgetStart {
    pub spend: u64,
    pub resets_at_ms: Option<u64>,
}

struct Meter {
    kind: Kind,
    limit: u64,
    window_ms: u64,
    /// Rate meters: the window index; budgets: the reset generation.
    epoch: u64,
    /// Rate meters: units leased and overdrawn in this window.
    counter: u64,
    /// Concurrency slots or budget reservations leased, per node.
    held: HashMap<String, u64>,
    /// Budgets: settled spend in this period.
    spend: u64,
    resets_at_ms: Option<u64>,
    /// A budget whose periods are fixed windows of `window_ms` (the proxy's
    /// `litellm_settings.budget_duration`): it rolls like a rate window,
    /// keeping reservations still held.
    periodic: bool,
}

impl Meter {
    fn used(&self) -> u64 {
        let held = self.held.values().fold(0u64, |a, h| a.saturating_add(*h));
        match self.kind {
            Kind::Requests | Kind::Tokens => self.counter,
            Kind::Concurrency => held,
            Kind::Budget => self.spend.saturating_add(held),
        }
    }

    fn is_windowed(&self) -> bool {
        matches!(self.kind, Kind::Requests | Kind::Tokens) || self.periodic
    }

    fn roll_window(&mut self, now_ms: u64) {
        if self.is_windowed() {
            let epoch = now_ms / self.window_ms;
            if epoch != self.epoch {
                self.epoch = epoch;
                self.counter = 0;
                self.spend = 0;
            }
        }
    }

    fn resets_in_ms(&self, now_ms: u64) -> u64 {
        match self.kind {
            Kind::Requests | Kind::Tokens => (self.epoch + 1) * self.window_ms - now_ms,
            Kind::Budget if self.periodic => (self.epoch + 1) * self.window_ms - now_ms,
            Kind::Concurrency => 0,
            Kind::Budget => self
                .resets_at_ms
                .map_or(0, |at| at.saturating_sub(now_ms).max(1)),
        }
    }

    fn take_from(&mut self, node: &str, units: u64) {
        if let Some(held) = self.held.get_mut(node) {
            *held -= units.min(*held);
        }
    }
}

#[derive(Default)]
struct State {
    meters: HashMap<String, Meter>,
    last_seen: HashMap<String, u64>,
    last_purge_ms: u64,
}

#[derive(Default)]
pub struct Coordinator {
    state: Mutex<State>,
}

impl Coordinator {
    pub fn knows(&self, meter: &str) -> bool {
        self.lock().meters.contains_key(meter)
    }

    /// Settles what a node reports and grants what the limits allow. Budget
    /// meters not yet known start from `budget_start` (spend from the
    /// database); `fleet_size` spreads prefetch so one node cannot take a
    /// whole limit ahead of need.
    pub fn exchange(
        &self,
        node: &str,
        now_ms: u64,
        fleet_size: usize,
        updates: Vec<(Kind, Update)>,
        budget_start: &HashMap<String, BudgetStart>,
    ) -> Vec<Grant> {
        let fleet = fleet_size.max(1) as u64;
        let mut state = self.lock();
        state.last_seen.insert(node.to_string(), now_ms);
        purge_gone_nodes(&mut state, now_ms);
        updates
            .into_iter()
            .map(|(kind, u)| {
                let meter = state.meters.entry(u.meter.clone()).or_insert_with(|| {
                    let start = budget_start.get(&u.meter).copied().unwrap_or_default();
                    let window_ms = u.window_ms.max(1_000);
                    let periodic = kind == Kind::Budget && u.window_ms > 0;
                    Meter {
                        kind,
                        limit: u.limit,
                        window_ms,
                        epoch: if matches!(kind, Kind::Requests | Kind::Tokens) || periodic {
                            now_ms / window_ms
                        } else {
                            0
                        },
                        counter: 0,
                        held: HashMap::new(),
                        spend: start.spend,
                        resets_at_ms: start.resets_at_ms,
                        periodic,
                    }
                });
                meter.limit = u.limit;
                meter.roll_window(now_ms);
                settle(meter, node, &u);
                let granted = grant(meter, node, &u, fleet);
                Grant {
                    meter: u.meter,
                    granted,
                    used: meter.used(),
                    limit: meter.limit,
                    resets_in_ms: meter.resets_in_ms(now_ms),
                    epoch: meter.epoch,
                    spend: meter.spend,
                }
            })
            .collect()
    }

    /// A budget period ended: settled spend starts again from zero (the
    /// database row is reset by the caller); reservations still held stay
    /// counted, since their requests are still running.
    pub fn reset_budget(&self, meter: &str, resets_at_ms: Option<u64>) {
        if let Some(m) = self.lock().meters.get_mut(meter) {
            m.epoch += 1;
            m.spend = 0;
            m.resets_at_ms = resets_at_ms;
        }
    }

    /// A budget period got its first end time (the duration was just set).
    pub fn set_resets_at(&self, meter: &str, resets_at_ms: Option<u64>) {
        if let Some(m) = self.lock().meters.get_mut(meter) {
            m.resets_at_ms = resets_at_ms;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn settle(meter: &mut Meter, node: &str, u: &Update) {
    if u.epoch != meter.epoch && matches!(meter.kind, Kind::Requests | Kind::Tokens) {
        // Reports about an earlier rate window: that window is gone (its
        // units are not coming back).
        return;
    }
    match meter.kind {
        Kind::Requests | Kind::Tokens => {
            meter.counter = meter
                .counter
                .saturating_add(u.overdraft)
                .saturating_sub(u.release);
        }
        Kind::Concurrency => meter.take_from(node, u.release),
        Kind::Budget => settle_budget(meter, node, u),
    }
}

/// `release` gives back held reservations (spent or not); `spent` is the
/// real cost, which may exceed what was held (an overdraft). Reservations
/// are given back whatever period they were taken in — a reset keeps them
/// counted, so they must be able to leave — but spend reported against an
/// earlier period belongs to that period and is dropped.
fn settle_budget(meter: &mut Meter, node: &str, u: &Update) {
    meter.take_from(node, u.release);
    if u.epoch == meter.epoch {
        meter.spend = meter.spend.saturating_add(u.spent);
    }
}

fn grant(meter: &mut Meter, node: &str, u: &Update, fleet: u64) -> u64 {
    if u.need == 0 && u.want == 0 {
        return 0;
    }
    let (ceiling, need) = match meter.kind {
        Kind::Budget => {
            // LiteLLM's `spend > max_budget` admits at exactly the budget:
            // one picodollar of headroom expresses "at or below".
            let ceiling = if u.admits_at_limit {
                meter.limit.saturating_add(1)
            } else {
                meter.limit
            };
            let remaining = ceiling.saturating_sub(meter.used());
            // Admitted while anything remains; the reservation is capped
            // at the remainder, so grants never push spend plus holds past
            // the ceiling — only real costs above a reservation can.
            if remaining == 0 {
                return 0;
            }
            (ceiling, u.need.min(remaining))
        }
        _ => (meter.limit, u.need),
    };
    let remaining = ceiling.saturating_sub(meter.used());
    if need > remaining {
        return 0;
    }
    // Prefetch shrinks as the limit runs out, so the units left near the
    // end are spread over the fleet instead of parked on one node.
    let prefetch_cap = remaining / (4 * fleet);
    let granted = need.max(u.want.min(prefetch_cap)).min(remaining);
    match meter.kind {
        Kind::Requests | Kind::Tokens => meter.counter = meter.counter.saturating_add(granted),
        Kind::Concurrency | Kind::Budget => {
            let held = meter.held.entry(node.to_string()).or_default();
            *held = held.saturating_add(granted);
        }
    }
    granted
}

fn purge_gone_nodes(state: &mut State, now_ms: u64) {
    if now_ms.saturating_sub(state.last_purge_ms) < 1_000 {
        return;
    }
    state.last_purge_ms = now_ms;
    let gone: Vec<String> = state
        .last_seen
        .iter()
        .filter(|(_, seen)| now_ms.saturating_sub(**seen) > NODE_TTL_MS)
        .map(|(n, _)| n.clone())
        .collect();
    if gone.is_empty() {
        return;
    }
    for node in &gone {
        state.last_seen.remove(node);
    }
    for meter in state.meters.values_mut() {
        for node in &gone {
            meter.held.remove(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(meter: &str, limit: u64, need: u64, want: u64) -> Update {
        Update {
            meter: meter.into(),
            limit,
            window_ms: 60_000,
            need,
            want,
            ..Update::default()
        }
    }

    /// A budget that resets by the budget clock, not in windows.
    fn budget(meter: &str, limit: u64, need: u64, want: u64) -> Update {
        Update {
            window_ms: 0,
            ..update(meter, limit, need, want)
        }
    }

    fn one(c: &Coordinator, node: &str, now: u64, kind: Kind, u: Update) -> Grant {
        c.exchange(node, now, 2, vec![(kind, u)], &HashMap::new())
            .remove(0)
    }

    #[test]
    fn requests_never_leased_beyond_the_limit_across_nodes() {
        let c = Coordinator::default();
        let mut total = 0;
        for i in 0..40 {
            let node = if i % 3 == 0 { "a" } else { "b" };
            total += one(&c, node, 1_000, Kind::Requests, update("k:rpm", 10, 1, 5)).granted;
        }
        assert_eq!(total, 10);
        let g = one(&c, "a", 1_000, Kind::Requests, update("k:rpm", 10, 1, 0));
        assert_eq!((g.granted, g.used, g.resets_in_ms), (0, 10, 59_000));
    }

    #[test]
    fn a_new_window_starts_from_zero_and_stale_reports_are_ignored() {
        let c = Coordinator::default();
        let g = one(&c, "a", 1_000, Kind::Requests, update("k", 3, 3, 0));
        assert_eq!(g.granted, 3);
        let old_epoch = g.epoch;
        let mut late = update("k", 3, 1, 0);
        late.release = 3;
        late.epoch = old_epoch;
        // Next window: the release of the old one must not go negative.
        let g = one(&c, "a", 61_000, Kind::Requests, late);
        assert_eq!((g.granted, g.used), (1, 1));
        assert_ne!(g.epoch, old_epoch);
    }

    #[test]
    fn prefetch_shrinks_as_the_limit_runs_out() {
        let c = Coordinator::default();
        let g = one(&c, "a", 0, Kind::Tokens, update("t", 1_000, 1, 1_000));
        assert_eq!(g.granted, 125);
        let g = one(&c, "b", 0, Kind::Tokens, update("t", 1_000, 1, 1_000));
        assert_eq!(g.granted, 109);
    }

    #[test]
    fn concurrency_slots_come_back_on_release_and_when_a_node_vanishes() {
        let c = Coordinator::default();
        assert_eq!(
            one(&c, "a", 0, Kind::Concurrency, update("p", 2, 1, 0)).granted,
            1
        );
        assert_eq!(
            one(&c, "b", 0, Kind::Concurrency, update("p", 2, 1, 0)).granted,
            1
        );
        assert_eq!(
            one(&c, "b", 0, Kind::Concurrency, update("p", 2, 1, 0)).granted,
            0
        );
        let mut release = update("p", 2, 1, 0);
        release.release = 1;
        assert_eq!(one(&c, "a", 10, Kind::Concurrency, release).granted, 1);
        // "a" stops talking: after the TTL its slot is free for "b".
        let later = NODE_TTL_MS + 2_000;
        assert_eq!(
            one(&c, "b", later, Kind::Concurrency, update("p", 2, 1, 0)).granted,
            1
        );
    }

    /// A request's settlement: its reservation back, its real cost spent.
    fn settled(u: &Update, epoch: u64, reserved: u64, cost: u64) -> Update {
        Update {
            need: 0,
            want: 0,
            release: reserved,
            spent: cost,
            epoch,
            ..u.clone()
        }
    }

    #[test]
    fn a_budget_admits_while_spend_and_reservations_are_below_it() {
        let c = Coordinator::default();
        let start = HashMap::from([(
            "b".to_string(),
            BudgetStart {
                spend: 600,
                resets_at_ms: None,
            },
        )]);
        let u = budget("b", 1_000, 300, 0);
        let g = c
            .exchange("a", 0, 1, vec![(Kind::Budget, u.clone())], &start)
            .remove(0);
        assert_eq!((g.granted, g.used, g.spend), (300, 900, 600));
        // 100 remain: a larger estimate is admitted, reserving the 100.
        let capped = one(&c, "n2", 0, Kind::Budget, u.clone());
        assert_eq!((capped.granted, capped.used), (100, 1_000));
        // Settled spend plus reservations reach the budget: refused.
        assert_eq!(
            one(&c, "n3", 0, Kind::Budget, budget("b", 1_000, 1, 0)).granted,
            0
        );
        // The first request cost 250: its 300 come back, 250 become spend.
        let g = one(&c, "a", 0, Kind::Budget, settled(&u, g.epoch, 300, 250));
        assert_eq!((g.used, g.spend), (950, 850));
        assert_eq!(one(&c, "n3", 0, Kind::Budget, u.clone()).granted, 50);
    }

    /// A data plane batches concurrent requests' exchanges into one call,
    /// so a meter can appear several times: each update is its own request
    /// and gets its own grant, in order, as if each had called alone.
    #[test]
    fn one_call_can_carry_several_requests_for_the_same_budget() {
        let c = Coordinator::default();
        let u = budget("b", 1_000, 400, 0);
        let grants = c.exchange(
            "a",
            0,
            1,
            vec![(Kind::Budget, u.clone()); 4],
            &HashMap::new(),
        );
        let granted: Vec<u64> = grants.iter().map(|g| g.granted).collect();
        assert_eq!(granted, vec![400, 400, 200, 0]);
        assert_eq!(grants[2].used, 1_000);
    }

    #[test]
    fn a_tiny_budget_serves_one_request_then_refuses() {
        let c = Coordinator::default();
        // max_budget 0.000001 USD, a request estimated at 50 times that.
        let u = budget("key", 1_000_000, 50_000_000, 0);
        let g = one(&c, "a", 0, Kind::Budget, u.clone());
        assert_eq!(g.granted, 1_000_000);
        // It really cost 30 times the budget: the overdraft is spend.
        let after = one(
            &c,
            "a",
            0,
            Kind::Budget,
            settled(&u, g.epoch, g.granted, 30_000_000),
        );
        assert_eq!((after.used, after.spend), (30_000_000, 30_000_000));
        assert_eq!(one(&c, "b", 0, Kind::Budget, u).granted, 0);
    }

    #[test]
    fn keys_refuse_at_the_budget_teams_only_above_it() {
        // LiteLLM: a key or user is refused once spend >= max_budget; a
        // team, end user or the proxy once spend > max_budget.
        let start = HashMap::from([(
            "b".to_string(),
            BudgetStart {
                spend: 100,
                resets_at_ms: None,
            },
        )]);
        let first = |admits_at_limit| {
            let c = Coordinator::default();
            let u = Update {
                admits_at_limit,
                ..budget("b", 100, 40, 0)
            };
            let g = c
                .exchange("a", 0, 1, vec![(Kind::Budget, u.clone())], &start)
                .remove(0);
            (c, u, g)
        };
        assert_eq!(first(false).2.granted, 0);
        let (c, u, g) = first(true);
        assert_eq!(g.granted, 1, "at exactly its budget a team is served");
        one(&c, "a", 0, Kind::Budget, settled(&u, g.epoch, 1, 1));
        assert_eq!(one(&c, "a", 0, Kind::Budget, u).granted, 0);
    }

    /// The documented bound: N data planes × K requests in flight each,
    /// costs up to C, in any interleaving — final spend stays below
    /// limit + N × K × C, and nothing is granted once spend reached the
    /// limit.
    #[test]
    fn fleet_overshoot_is_bounded_by_the_requests_in_flight() {
        const NODES: u64 = 3;
        const PER_NODE: u64 = 16;
        const LARGEST: u64 = 1_000;
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..200 {
            let c = Coordinator::default();
            let limit = 1 + next(20_000);
            let u = budget("k", limit, 0, 0);
            // (node, reservation, cost) of each request in flight.
            let mut in_flight: Vec<(u64, u64, u64)> = Vec::new();
            let mut spend = 0;
            for _ in 0..2_000 {
                let full = in_flight.len() as u64 == NODES * PER_NODE;
                if !full && (in_flight.is_empty() || next(2) == 0) {
                    let node = next(NODES);
                    // Estimates sometimes under the real cost (no max_tokens).
                    let cost = 1 + next(LARGEST);
                    let estimate = 1 + next(LARGEST);
                    let g = one(
                        &c,
                        &node.to_string(),
                        0,
                        Kind::Budget,
                        Update {
                            need: estimate,
                            ..u.clone()
                        },
                    );
                    if g.granted > 0 {
                        assert!(
                            g.spend < limit,
                            "round {round}: granted at spend {}",
                            g.spend
                        );
                        assert!(g.granted <= estimate);
                        in_flight.push((node, g.granted, cost));
                    }
                } else {
                    let (node, reserved, cost) =
                        in_flight.swap_remove(next(in_flight.len() as u64) as usize);
                    let g = one(
                        &c,
                        &node.to_string(),
                        0,
                        Kind::Budget,
                        settled(&u, 0, reserved, cost),
                    );
                    spend = g.spend;
                }
            }
            for (node, reserved, cost) in in_flight.drain(..) {
                spend = one(
                    &c,
                    &node.to_string(),
                    0,
                    Kind::Budget,
                    settled(&u, 0, reserved, cost),
                )
                .spend;
            }
            assert!(
                spend < limit + NODES * PER_NODE * LARGEST,
                "round {round}: spend {spend} past {limit} + bound"
            );
        }
    }

    #[test]
    fn a_periodic_budget_starts_over_each_window() {
        let c = Coordinator::default();
        let mut u = update("global", 100, 100, 0);
        u.window_ms = 10_000;
        let g = one(&c, "a", 1_000, Kind::Budget, u.clone());
        assert_eq!((g.granted, g.resets_in_ms), (100, 9_000));
        one(&c, "a", 2_000, Kind::Budget, settled(&u, g.epoch, 100, 100));
        assert_eq!(one(&c, "a", 9_999, Kind::Budget, u.clone()).granted, 0);
        // The next period: spend starts from zero.
        let g = one(&c, "a", 10_000, Kind::Budget, u);
        assert_eq!((g.granted, g.spend, g.resets_in_ms), (100, 0, 10_000));
    }

    #[test]
    fn a_reset_budget_serves_again_and_ignores_old_spend_but_not_old_reservations() {
        let c = Coordinator::default();
        let u = budget("b", 150, 100, 0);
        let first = one(&c, "a", 0, Kind::Budget, u.clone());
        let second = one(&c, "a", 0, Kind::Budget, budget("b", 150, 50, 0));
        assert_eq!((first.granted, second.granted), (100, 50));
        one(&c, "a", 0, Kind::Budget, settled(&u, first.epoch, 100, 100));
        assert_eq!(
            one(&c, "a", 0, Kind::Budget, budget("b", 150, 1, 0)).granted,
            0
        );
        c.reset_budget("b", Some(10_000));
        // The second request, admitted before the reset, settles after it:
        // its reservation leaves, its spend belongs to the old period.
        let g = one(
            &c,
            "a",
            5_000,
            Kind::Budget,
            settled(&u, second.epoch, 50, 50),
        );
        assert_eq!((g.spend, g.used, g.resets_in_ms), (0, 0, 5_000));
        assert_eq!(
            one(&c, "a", 5_000, Kind::Budget, budget("b", 150, 60, 0)).granted,
            60
        );
    }
}
