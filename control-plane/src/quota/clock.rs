//! The budget clock: resets each entity's spend when its `budget_duration`
//! period ends, and tells the coordinator, so a `10s` budget serves again
//! within a tick of being due (LiteLLM's rescheduler runs every ~10 min).

use super::coordinator::Coordinator;
use super::service::budget_meter;
use crate::db::budgets::{self, BudgetTable, Budgets};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tollgate_shared::meters::Scope;
use tracing::{debug, info};

const TICK: Duration = Duration::from_millis(250);

/// How a table's row id becomes the scope of its budget meter.
type ScopeOf = fn(String) -> Scope;

pub fn spawn_budget_clock(
    budgets: Budgets,
    coordinator: Arc<Coordinator>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tables: [(BudgetTable, ScopeOf); 4] = [
            (budgets::KEYS, Scope::Key),
            (budgets::TEAMS, Scope::Team),
            (budgets::USERS, Scope::User),
            (budgets::CUSTOMERS, Scope::Customer),
        ];
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(TICK) => {}
            }
            for (table, scope) in tables {
                let now = Utc::now();
                let due = match budgets.due(table, now).await {
                    Ok(due) => due,
                    Err(e) => {
                        // A table may not exist yet on an older schema.
                        debug!(table = table.table, "budget clock: {e}");
                        continue;
                    }
                };
                for row in due {
                    match budgets.reset(table, &row).await {
                        Ok(true) if row.reset_spend => {
                            info!(table = table.table, id = %row.id, "budget period ended: spend reset");
                            coordinator.reset_budget(
                                &budget_meter(scope(row.id.clone())),
                                u64::try_from(row.next_reset.timestamp_millis()).ok(),
                            );
                        }
                        Ok(true) => coordinator.set_resets_at(
                            &budget_meter(scope(row.id.clone())),
                            u64::try_from(row.next_reset.timestamp_millis()).ok(),
                        ),
                        Ok(false) => {}
                        Err(e) => debug!(table = table.table, "budget clock: {e}"),
                    }
                }
            }
        }
    })
}
