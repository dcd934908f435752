//! Budgets as the database has them: where an entity's spend stands (for a
//! budget meter's first use) and which budget periods are due to reset.
//! Works over every table that carries `spend_picos`, `budget_duration` and
//! `budget_reset_at` — keys, teams, users, customers — by name, so one clock
//! serves them all.

use crate::entity_fields::span_end;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value};
use tollgate_shared::duration::Span;

/// A table whose rows have budgets.
#[derive(Debug, Clone, Copy)]
pub struct BudgetTable {
    pub table: &'static str,
    pub id_column: &'static str,
    /// Soft-deleted rows (`deleted_at`) are skipped where the table has it.
    pub soft_delete: bool,
    /// LiteLLM's float `spend` beside `spend_picos`, reset together.
    pub float_spend: bool,
}

pub const KEYS: BudgetTable = BudgetTable {
    table: "virtual_keys",
    id_column: "token",
    soft_delete: true,
    float_spend: true,
};
pub const TEAMS: BudgetTable = BudgetTable {
    table: "teams",
    id_column: "team_id",
    soft_delete: false,
    float_spend: false,
};
pub const USERS: BudgetTable = BudgetTable {
    table: "users",
    id_column: "user_id",
    soft_delete: false,
    float_spend: false,
};
pub const CUSTOMERS: BudgetTable = BudgetTable {
    table: "customers",
    id_column: "user_id",
    soft_delete: false,
    float_spend: false,
};

/// A row whose budget period ended (or never started).
#[derive(Debug, Clone)]
pub struct DueReset {
    pub id: String,
    /// `false` when the row only needed its first `budget_reset_at`.
    pub reset_spend: bool,
    pub next_reset: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Budgets {
    db: DatabaseConnection,
}

impl Budgets {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Settled spend (picodollars) and next reset of one row; `None` if the
    /// row does not exist.
    pub async fn spend(
        &self,
        t: BudgetTable,
        id: &str,
    ) -> Result<Option<(u64, Option<DateTime<Utc>>)>, DbErr> {
        let query = Query::select()
            .column(Alias::new("spend_picos"))
            .column(Alias::new("budget_reset_at"))
            .from(Alias::new(t.table))
            .and_where(Expr::col(Alias::new(t.id_column)).eq(id))
            .to_owned();
        let Some(row) = self.db.query_one(&query).await? else {
            return Ok(None);
        };
        let spend: i64 = row.try_get("", "spend_picos")?;
        let reset: Option<DateTime<Utc>> = row.try_get("", "budget_reset_at")?;
        Ok(Some((u64::try_from(spend).unwrap_or(0), reset)))
    }

    /// Sum of every request's cost since `since` (the proxy-wide budget).
    pub async fn global_spend(&self, since: Option<DateTime<Utc>>) -> Result<u64, DbErr> {
        let mut query = Query::select()
            .expr_as(
                Expr::col(Alias::new("spend_picos")).sum(),
                Alias::new("total"),
            )
            .from(Alias::new("spend_logs"))
            .to_owned();
        if let Some(since) = since {
            query.and_where(Expr::col(Alias::new("start_time")).gte(since));
        }
        let Some(row) = self.db.query_one(&query).await? else {
            return Ok(0);
        };
        // SUM is NULL on an empty table, and a BIGINT sum is NUMERIC on
        // PostgreSQL: read whichever arrived.
        let total = row
            .try_get::<Option<i64>>("", "total")
            .ok()
            .flatten()
            .or_else(|| {
                row.try_get::<Option<sea_orm::prelude::Decimal>>("", "total")
                    .ok()
                    .flatten()
                    .and_then(|d| d.to_string().split('.').next()?.parse().ok())
            })
            .unwrap_or(0);
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// Rows whose `budget_reset_at` has passed, or that have a duration but
    /// no reset time yet.
    pub async fn due(&self, t: BudgetTable, now: DateTime<Utc>) -> Result<Vec<DueReset>, DbErr> {
        let mut query = Query::select()
            .column(Alias::new(t.id_column))
            .column(Alias::new("budget_duration"))
            .column(Alias::new("budget_reset_at"))
            .from(Alias::new(t.table))
            .and_where(Expr::col(Alias::new("budget_duration")).is_not_null())
            .and_where(
                Expr::col(Alias::new("budget_reset_at"))
                    .is_null()
                    .or(Expr::col(Alias::new("budget_reset_at")).lte(now)),
            )
            .to_owned();
        if t.soft_delete {
            query.and_where(Expr::col(Alias::new("deleted_at")).is_null());
        }
        let rows = self.db.query_all(&query).await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("", t.id_column)?;
            let duration: String = row.try_get("", "budget_duration")?;
            let reset_at: Option<DateTime<Utc>> = row.try_get("", "budget_reset_at")?;
            let Ok(span) = Span::parse(&duration) else {
                continue;
            };
            let Some(next) = next_reset(reset_at.unwrap_or(now), span, now) else {
                continue;
            };
            due.push(DueReset {
                id,
                reset_spend: reset_at.is_some(),
                next_reset: next,
            });
        }
        Ok(due)
    }

    /// Starts a new budget period for one row. Conditional on the reset time
    /// the caller saw, so two control planes never reset twice.
    pub async fn reset(&self, t: BudgetTable, due: &DueReset) -> Result<bool, DbErr> {
        let mut update = Query::update()
            .table(Alias::new(t.table))
            .value(Alias::new("budget_reset_at"), Value::from(due.next_reset))
            .and_where(Expr::col(Alias::new(t.id_column)).eq(due.id.as_str()))
            .to_owned();
        if due.reset_spend {
            update.value(Alias::new("spend_picos"), 0i64);
            if t.float_spend {
                update.value(Alias::new("spend"), 0.0f64);
            }
            update.and_where(Expr::col(Alias::new("budget_reset_at")).lt(due.next_reset));
        } else {
            update.and_where(Expr::col(Alias::new("budget_reset_at")).is_null());
        }
        Ok(self.db.execute(&update).await?.rows_affected() > 0)
    }
}

/// The end of the budget period running at `now`, stepping from the last
/// reset time so periods do not drift; after a long outage, from `now`.
pub fn next_reset(from: DateTime<Utc>, span: Span, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let next = span_end(span, from)?;
    if next > now {
        Some(next)
    } else {
        span_end(span, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_step_from_the_last_reset_without_drift() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid");
        let now = t0 + chrono::Duration::milliseconds(10_300);
        assert_eq!(
            next_reset(t0 + chrono::Duration::seconds(10), Span::Seconds(10), now),
            Some(t0 + chrono::Duration::seconds(20))
        );
        // Down for an hour: the next period starts from now.
        let late = t0 + chrono::Duration::hours(1);
        assert_eq!(
            next_reset(t0, Span::Seconds(10), late),
            Some(late + chrono::Duration::seconds(10))
        );
        assert_eq!(
            next_reset(t0, Span::Seconds(100_000_000_000_000_000), t0),
            None
        );
        assert_eq!(
            next_reset(t0, Span::Months(1), t0).map(|t| t.to_rfc3339()),
            Some("2026-02-28T00:00:00+00:00".into())
        );
    }
}
