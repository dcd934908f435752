//! One meter's lease on this node: the allowance the control plane granted
//! and what this node owes it (settlements, releases). Only synchronous
//! code touches it, under a short per-meter lock.

use std::time::{Duration, Instant};
use tollgate_proto::v1::{MeterGrant, MeterKind, MeterUpdate};

#[derive(Debug)]
pub struct Lease {
    pub kind: MeterKind,
    pub limit: u64,
    pub window_ms: u64,
    /// Units this node may still use without asking. Tokens and budgets
    /// can go below zero: a request used more than it reserved.
    pub allowance: i64,
    /// Concurrency: slots in use.
    pub in_flight: u64,
    /// The window or budget period the allowance belongs to.
    pub epoch: u64,
    /// Rate meters: when the window (and so the allowance) ends.
    pub window_end: Option<Instant>,
    /// When a budget resets or a rate window ends, for `retry-after`.
    pub resets_at: Option<Instant>,
    /// Fleet-wide use as of the last grant, for `x-ratelimit-remaining-*`.
    pub fleet_used: u64,
    /// Budgets: settled spend as of the last grant.
    pub spend: u64,
    pub pending_overdraft: u64,
    pub pending_release: u64,
    pub pending_spent: u64,
    pub last_used: Instant,
    pub last_exchange: Option<Instant>,
    /// Set while the control plane is unreachable: this node runs on its
    /// fair share and does not report (there is nobody to report to).
    pub fallback_window: Option<u64>,
}

impl Lease {
    pub fn new(kind: MeterKind, limit: u64, window_ms: u64, now: Instant) -> Self {
        Self {
            kind,
            limit,
            window_ms,
            allowance: 0,
            in_flight: 0,
            epoch: 0,
            window_end: None,
            resets_at: None,
            fleet_used: 0,
            spend: 0,
            pending_overdraft: 0,
            pending_release: 0,
            pending_spent: 0,
            last_used: now,
            last_exchange: None,
            fallback_window: None,
        }
    }

    fn is_rate(&self) -> bool {
        matches!(self.kind, MeterKind::Requests | MeterKind::Tokens)
    }

    /// A rate window that ended takes its allowance (and what was owed on
    /// it) with it.
    pub fn expire(&mut self, now: Instant) {
        if self.is_rate() && self.window_end.is_some_and(|end| now >= end) {
            self.allowance = 0;
            self.pending_overdraft = 0;
            self.pending_release = 0;
            self.window_end = None;
            self.fleet_used = 0;
        }
    }

    /// Can `units` be admitted without asking anyone?
    pub fn covers(&self, units: u64) -> bool {
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        match self.kind {
            // tpm admits while anything is left; the real count is charged
            // after the response (LiteLLM's rule).
            MeterKind::Tokens => self.allowance >= 1,
            _ => self.allowance >= units,
        }
    }

    pub fn take(&mut self, units: u64, now: Instant) {
        self.last_used = now;
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        match self.kind {
            MeterKind::Tokens => {}
            MeterKind::Concurrency => {
                self.allowance -= 1;
                self.in_flight += 1;
            }
            _ => self.allowance -= units,
        }
        if self.kind == MeterKind::Requests && self.fallback_window.is_some() {
            // Admitted on a fair share, not a lease: tell the control plane.
            self.pending_overdraft += 1;
        }
    }

    /// Gives back what `take` took, for a request refused by another meter.
    pub fn untake(&mut self, units: u64) {
        if self.kind == MeterKind::Requests && self.fallback_window.is_some() {
            self.pending_overdraft = self.pending_overdraft.saturating_sub(1);
        }
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        match self.kind {
            MeterKind::Tokens => {}
            MeterKind::Concurrency => {
                self.allowance += 1;
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            _ => self.allowance += units,
        }
    }

    /// The request is over: charge what it really used. `own` says the
    /// budget reservation was granted to this request alone (see
    /// `Limiter::admit`) rather than taken from the lease's allowance.
    pub fn settle(&mut self, reserved: u64, tokens: u64, cost: u64, own: bool) {
        match self.kind {
            MeterKind::Requests => {}
            MeterKind::Tokens => {
                self.allowance -= i64::try_from(tokens).unwrap_or(i64::MAX);
                if self.fallback_window.is_some() {
                    // Nothing was leased: every token is news to the
                    // control plane (counted if it is still this window).
                    self.pending_overdraft += tokens;
                } else if self.allowance < 0 {
                    self.pending_overdraft += self.allowance.unsigned_abs();
                    self.allowance = 0;
                }
            }
            MeterKind::Concurrency => {
                self.allowance += 1;
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            MeterKind::Budget if own => {
                // The whole reservation goes back and the real cost is
                // spend, whatever the two are: nothing stays on this node
                // to be admitted against later.
                self.in_flight = self.in_flight.saturating_sub(1);
                self.pending_release += reserved;
                self.spend = self.spend.saturating_add(cost);
                self.pending_spent += cost;
            }
            MeterKind::Budget => {
                let before = self.allowance;
                let reserved_i = i64::try_from(reserved).unwrap_or(i64::MAX);
                let cost_i = i64::try_from(cost).unwrap_or(i64::MAX);
                self.allowance += reserved_i - cost_i;
                self.spend = self.spend.saturating_add(cost);
                // Spend is always reported, even what was admitted on a
                // fair share while the control plane was away.
                self.pending_spent += cost;
                if self.fallback_window.is_none() {
                    // Spend beyond what this node held is spend only; the
                    // control plane lets go of what the node no longer
                    // holds (the reservation and whatever allowance the
                    // excess used up).
                    self.allowance = self.allowance.max(0);
                    let released = before.saturating_add(reserved_i) - self.allowance;
                    self.pending_release += released.max(0).unsigned_abs();
                }
            }
            MeterKind::Unspecified => {}
        }
    }

    /// What to tell the control plane, asking for `need` now and `want`
    /// ahead. Moves pending settlements into the update.
    pub fn update(&mut self, name: &str, need: u64, want: u64) -> MeterUpdate {
        MeterUpdate {
            meter: name.to_string(),
            kind: self.kind as i32,
            limit: self.limit,
            window_ms: self.window_ms,
            need,
            want,
            overdraft: std::mem::take(&mut self.pending_overdraft),
            release: std::mem::take(&mut self.pending_release),
            spent: std::mem::take(&mut self.pending_spent),
            epoch: self.epoch,
        }
    }

    /// Puts back what an update carried, when it could not be delivered.
    pub fn unsend(&mut self, u: &MeterUpdate) {
        self.pending_overdraft += u.overdraft;
        self.pending_release += u.release;
        self.pending_spent += u.spent;
    }

    /// A grant for this node's allowance.
    pub fn apply(&mut self, g: &MeterGrant, now: Instant) {
        self.observe(g, now);
        self.allowance += i64::try_from(g.granted).unwrap_or(i64::MAX);
    }

    /// What a grant says about the fleet (epoch, use, spend, reset), without
    /// taking its units into the allowance: a budget reservation granted to
    /// one request is that request's, not the node's.
    pub fn observe(&mut self, g: &MeterGrant, now: Instant) {
        if self.is_rate() && g.epoch != self.epoch {
            // A new window: what was left of the old one is gone.
            self.allowance = self.allowance.min(0);
        }
        if self.kind == MeterKind::Budget && g.epoch != self.epoch {
            // The budget was reset: spend reported against the old period
            // was ignored, and this node's reservations still stand.
            self.allowance = self.allowance.max(0);
        }
        if self.fallback_window.take().is_some() {
            // Back from a control-plane outage: the fair share was never
            // leased. Keep only debts, and count requests still running on
            // fake slots against the real ones.
            self.allowance = match self.kind {
                MeterKind::Concurrency => -i64::try_from(self.in_flight).unwrap_or(i64::MAX),
                _ => self.allowance.min(0),
            };
        }
        self.epoch = g.epoch;
        self.fleet_used = g.used;
        self.spend = g.spend;
        self.last_exchange = Some(now);
        let resets = (g.resets_in_ms > 0).then(|| now + Duration::from_millis(g.resets_in_ms));
        self.resets_at = resets;
        if self.is_rate() {
            self.window_end = resets;
        }
    }

    /// The control plane is unreachable: run on a fair share of the limit,
    /// once per local window.
    pub fn fall_back(&mut self, fleet_size: u32, now: Instant, local_window: u64) {
        if self.fallback_window == Some(local_window) {
            return;
        }
        let share = self.limit / u64::from(fleet_size.max(1));
        let share = match self.kind {
            MeterKind::Budget => {
                let left = self.limit.saturating_sub(self.fleet_used);
                left / u64::from(fleet_size.max(1))
            }
            _ => share.max(1),
        };
        self.fallback_window = Some(local_window);
        match self.kind {
            MeterKind::Requests | MeterKind::Tokens => {
                self.allowance = i64::try_from(share).unwrap_or(i64::MAX);
                if self.window_ms > 0 {
                    self.window_end = Some(now + Duration::from_millis(self.window_ms));
                }
            }
            MeterKind::Concurrency => {
                let share = i64::try_from(share).unwrap_or(i64::MAX);
                self.allowance = share - i64::try_from(self.in_flight).unwrap_or(0);
            }
            _ => {
                self.allowance = self.allowance.max(i64::try_from(share).unwrap_or(i64::MAX));
            }
        }
    }

    /// Remaining fleet-wide, for headers.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.fleet_used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(granted: u64, epoch: u64) -> MeterGrant {
        MeterGrant {
            meter: "m".into(),
            granted,
            used: granted,
            limit: 10,
            resets_in_ms: 30_000,
            epoch,
            spend: 0,
        }
    }

    #[test]
    fn requests_admitted_on_a_fair_share_are_reported_and_the_share_dropped_on_return() {
        let now = Instant::now();
        let mut lease = Lease::new(MeterKind::Requests, 10, 60_000, now);
        lease.fall_back(2, now, 0);
        assert!(lease.covers(1));
        for _ in 0..3 {
            lease.take(1, now);
        }
        let update = lease.update("m", 1, 10);
        assert_eq!(update.overdraft, 3, "the control plane hears of all three");
        lease.apply(&grant(2, 7), now);
        assert_eq!(lease.allowance, 2, "the rest of the fair share is gone");
        assert!(lease.fallback_window.is_none());
    }

    #[test]
    fn budget_spend_is_always_reported_and_reservations_settle() {
        let now = Instant::now();
        let mut lease = Lease::new(MeterKind::Budget, 1_000, 0, now);
        lease.apply(&grant(500, 0), now);
        lease.take(300, now);
        assert_eq!(lease.allowance, 200);
        lease.settle(300, 0, 120, false);
        assert_eq!((lease.allowance, lease.pending_spent), (380, 120));
        assert_eq!(
            lease.pending_release, 120,
            "the spent part is no longer held"
        );
        // A request that cost more than it reserved: the excess is spend,
        // and it used up the rest of the allowance.
        lease.take(300, now);
        lease.settle(300, 0, 500, false);
        assert_eq!((lease.allowance, lease.pending_spent), (0, 620));
        assert_eq!(lease.pending_release, 500);
    }

    #[test]
    fn a_reservation_of_its_own_goes_back_whole_when_its_request_ends() {
        let now = Instant::now();
        let mut lease = Lease::new(MeterKind::Budget, 1_000, 0, now);
        lease.observe(&grant(400, 0), now);
        assert_eq!(
            lease.allowance, 0,
            "the grant is the request's, not the node's"
        );
        lease.in_flight = 1;
        lease.settle(400, 0, 900, true);
        assert_eq!((lease.allowance, lease.in_flight), (0, 0));
        let update = lease.update("m", 0, 0);
        assert_eq!((update.release, update.spent), (400, 900));
    }

    #[test]
    fn slots_still_running_after_an_outage_count_against_real_ones() {
        let now = Instant::now();
        let mut lease = Lease::new(MeterKind::Concurrency, 4, 0, now);
        lease.fall_back(1, now, 0);
        lease.take(1, now);
        lease.take(1, now);
        lease.apply(&grant(1, 0), now);
        assert_eq!(lease.allowance, -1);
        lease.settle(1, 0, 0, false);
        lease.settle(1, 0, 0, false);
        assert_eq!((lease.allowance, lease.in_flight), (1, 0));
    }
}
