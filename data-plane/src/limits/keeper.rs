//! The keeper: in the background, tells the control plane what requests
//! settled (overdrafts, spend), gives back allowance this node is not using
//! (so other nodes can have it), keeps held leases alive, and forgets
//! meters nobody has used for a while.

use super::limiter::Limiter;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tollgate_proto::v1::{MeterKind, MeterUpdate};

const TICK: Duration = Duration::from_millis(100);
/// Concurrency slots idle this long go back to the fleet.
const IDLE_SLOTS: Duration = Duration::from_millis(100);
/// Budget allowance idle this long goes back to the fleet.
const IDLE_BUDGET: Duration = Duration::from_secs(1);
/// The control plane frees what a silent node holds after 20 s.
const KEEPALIVE: Duration = Duration::from_secs(5);
const FORGET: Duration = Duration::from_secs(180);

pub fn spawn_keeper(limiter: Arc<Limiter>, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => {
                    // Last words: give everything back so other nodes can
                    // use it at once instead of after the node TTL.
                    release_everything(&limiter);
                    flush(&limiter).await;
                    return;
                }
                () = limiter.owed.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
            flush(&limiter).await;
        }
    });
}

fn release_everything(limiter: &Limiter) {
    for mut lease in limiter.leases.iter_mut() {
        if matches!(lease.kind, MeterKind::Concurrency | MeterKind::Budget) && lease.allowance > 0 {
            lease.pending_release += lease.allowance.unsigned_abs();
            lease.allowance = 0;
        }
    }
}

async fn flush(limiter: &Limiter) {
    let now = Instant::now();
    let mut updates: Vec<MeterUpdate> = Vec::new();
    let mut holding = false;
    let mut last_exchange: Option<Instant> = None;
    limiter.leases.retain(|_, lease| {
        let idle = now.saturating_duration_since(lease.last_used);
        let holds = lease.in_flight > 0 || lease.allowance > 0;
        !(idle > FORGET && !holds && lease.pending_spent == 0 && lease.pending_overdraft == 0)
    });
    for mut entry in limiter.leases.iter_mut() {
        let name = entry.key().clone();
        let lease = entry.value_mut();
        let idle = now.saturating_duration_since(lease.last_used);
        // A fair share (control plane away) was never leased: nothing to
        // give back, only settlements to report.
        let leased = lease.fallback_window.is_none();
        match lease.kind {
            _ if !leased => {}
            MeterKind::Concurrency if lease.allowance > 0 && idle >= IDLE_SLOTS => {
                lease.pending_release += lease.allowance.unsigned_abs();
                lease.allowance = 0;
            }
            MeterKind::Budget if lease.allowance > 0 && idle >= IDLE_BUDGET => {
                lease.pending_release += lease.allowance.unsigned_abs();
                lease.allowance = 0;
            }
            _ => {}
        }
        holding |= lease.in_flight > 0 || (lease.kind == MeterKind::Budget && lease.allowance > 0);
        last_exchange = last_exchange.max(lease.last_exchange);
        if lease.pending_overdraft > 0 || lease.pending_release > 0 || lease.pending_spent > 0 {
            updates.push(lease.update(&name, 0, 0));
        }
    }
    let stale = last_exchange.is_none_or(|t| now.saturating_duration_since(t) >= KEEPALIVE);
    if updates.is_empty() && holding && stale {
        // Nothing to settle, but the control plane must not think this node
        // gone while it holds slots or reservations.
        if let Some(mut entry) = limiter
            .leases
            .iter_mut()
            .find(|l| l.in_flight > 0 || l.allowance > 0)
        {
            let name = entry.key().clone();
            updates.push(entry.value_mut().update(&name, 0, 0));
        }
    }
    if updates.is_empty() {
        return;
    }
    match limiter.client.exchange(updates.clone()).await {
        Ok(response) => {
            limiter
                .fleet_size
                .store(response.fleet_size.max(1), Ordering::Relaxed);
            let now = Instant::now();
            for grant in &response.grants {
                if let Some(mut lease) = limiter.leases.get_mut(&grant.meter) {
                    lease.apply(grant, now);
                }
            }
        }
        Err(e) => {
            tracing::debug!("quota keeper: {e}");
            for u in &updates {
                if let Some(mut lease) = limiter.leases.get_mut(&u.meter) {
                    lease.unsend(u);
                }
            }
        }
    }
}
