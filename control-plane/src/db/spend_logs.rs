//! The append-only spend log. Inserts are idempotent on `request_id`: a
//! batch replayed after a lost ack is stored once, and only the records the
//! database reports as new feed the aggregates and running totals.

use super::entities::spend_log::{Column, Entity, Model};
use super::{spend_bulk, spend_daily, spend_sqlite, spend_totals};
use crate::spend::rollup::Rollup;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use tracing::warn;

#[derive(Clone)]
pub struct SpendLogs {
    db: DatabaseConnection,
    /// Each committed transaction's new records, for the dashboard's live
    /// tail (no receiver: nothing is kept).
    tail: Option<tokio::sync::broadcast::Sender<std::sync::Arc<Vec<Model>>>>,
}

/// A deadlock (or SQLite's busy writer) aborts the whole transaction, which
/// is then safe to run again; past this the batch stays unacknowledged and
/// the data plane resends it.
const ATTEMPTS: usize = 3;

/// What `/spend/logs` filters on; empty fields do not filter.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    /// SHA-256 hex.
    pub api_key: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    /// Inclusive start, exclusive end.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl LogFilter {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(k) = &self.api_key {
            c = c.add(Column::ApiKey.eq(k.clone()));
        }
        if let Some(u) = &self.user_id {
            c = c.add(Column::UserId.eq(u.clone()));
        }
        if let Some(r) = &self.request_id {
            c = c.add(Column::RequestId.eq(r.clone()));
        }
        if let Some((from, to)) = self.range {
            c = c
                .add(Column::StartTime.gte(from))
                .add(Column::StartTime.lt(to));
        }
        c
    }
}

/// (UTC day YYYY-MM-DD, key hash, user id, model group, picodollars).
pub type SummaryRow = (String, String, Option<String>, String, i64);

fn retryable(e: &DbErr) -> bool {
    let text = e.to_string();
    text.contains("deadlock") || text.contains("40P01") || text.contains("database is locked")
}

impl SpendLogs {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, tail: None }
    }

    /// Publishes every transaction's new records on `tail` after commit.
    pub fn with_tail(
        mut self,
        tail: tokio::sync::broadcast::Sender<std::sync::Arc<Vec<Model>>>,
    ) -> Self {
        self.tail = Some(tail);
        self
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Stores a batch in one transaction and returns how many records were
    /// new. Only after this returns may the batch be acknowledged.
    pub async fn insert_batch(&self, logs: Vec<Model>) -> Result<u64, DbErr> {
        Ok(self
            .insert_batches(vec![logs])
            .await?
            .first()
            .copied()
            .unwrap_or(0))
    }

    /// Stores several batches in one transaction; returns how many records
    /// of each were new (a record present in two of them counts for the
    /// first).
    ///
    /// In the same transaction: the daily aggregates and the running totals
    /// of keys, teams, users and end users grow by the new records only, so
    /// a replayed batch adds nothing anywhere.
    pub async fn insert_batches(&self, batches: Vec<Vec<Model>>) -> Result<Vec<u64>, DbErr> {
        // A record repeated inside one delivery is one request.
        let mut seen = HashSet::new();
        let mut logs = Vec::new();
        for log in batches.iter().flatten() {
            if seen.insert(log.request_id.as_str()) {
                logs.push(log.clone());
            }
        }
        // Concurrent transactions inserting overlapping ids in different
        // orders deadlock on the unique index; one order (by id) cannot.
        logs.sort_by(|a, b| a.request_id.cmp(&b.request_id));
        let mut inserted = if logs.is_empty() {
            HashSet::new()
        } else {
            let mut attempt = 1;
            loop {
                match self.store(&logs).await {
                    Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                        warn!(attempt, "usage batch aborted, retrying: {e}");
                        attempt += 1;
                    }
                    other => break other?,
                }
            }
        };
        Ok(batches
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .filter(|l| inserted.remove(&l.request_id))
                    .count() as u64
            })
            .collect())
    }

    /// One transaction: the logs, then what the new ones add up to. Returns
    /// the ids that were new.
    async fn store(&self, logs: &[Model]) -> Result<HashSet<String>, DbErr> {
        let txn = self.db.begin().await?;
        let postgres = txn.get_database_backend() == DbBackend::Postgres;
        let inserted = if postgres {
            spend_bulk::insert_logs(&txn, logs).await?
        } else {
            spend_sqlite::insert_logs(&txn, logs).await?
        };
        let by_id: HashMap<&str, &Model> =
            logs.iter().map(|l| (l.request_id.as_str(), l)).collect();
        let new_logs: Vec<&Model> = inserted
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        let rollup = Rollup::of(new_logs.iter().copied());
        super::usage_hourly::upsert(&txn, &rollup.hourly).await?;
        if postgres {
            spend_bulk::upsert_daily(&txn, &rollup.daily).await?;
        } else {
            spend_daily::upsert(&txn, &rollup.daily).await?;
        }
        if postgres {
            spend_bulk::add_to_existing(&txn, "virtual_keys", "token", &rollup.keys, true).await?;
            spend_bulk::add_to_existing(&txn, "teams", "team_id", &rollup.teams, false).await?;
            spend_bulk::add_to_existing(&txn, "users", "user_id", &rollup.users, false).await?;
            spend_bulk::upsert_customers(&txn, &rollup.customers, Utc::now()).await?;
        } else {
            spend_totals::add_to_existing(&txn, "virtual_keys", "token", &rollup.keys, true)
                .await?;
            spend_totals::add_to_existing(&txn, "teams", "team_id", &rollup.teams, false).await?;
            spend_totals::add_to_existing(&txn, "users", "user_id", &rollup.users, false).await?;
            spend_totals::upsert_customers(&txn, &rollup.customers, Utc::now()).await?;
        }
        txn.commit().await?;
        if let Some(tail) = &self.tail
            && tail.receiver_count() > 0
            && !new_logs.is_empty()
        {
            let _ = tail.send(std::sync::Arc::new(new_logs.into_iter().cloned().collect()));
        }
        Ok(inserted.into_iter().collect())
    }

    pub async fn count(&self) -> Result<u64, DbErr> {
        Entity::find().count(&self.db).await
    }

    /// Logs matching `filter`, newest first.
    pub async fn find(&self, filter: &LogFilter, limit: u64) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(filter.condition())
            .order_by_desc(Column::StartTime)
            .order_by_desc(Column::RequestId)
            .limit(limit)
            .all(&self.db)
            .await
    }

    /// Spend of the logs matching `filter`, grouped by (UTC day, key, user,
    /// model group): what a per-day summary adds up, computed by the
    /// database so a month of traffic is not shipped row by row.
    pub async fn summary_rows(&self, filter: &LogFilter) -> Result<Vec<SummaryRow>, DbErr> {
        let day = match self.db.get_database_backend() {
            DbBackend::Postgres => "to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            // SeaORM stores UTC timestamps as text starting with the date.
            _ => "substr(start_time, 1, 10)",
        };
        Entity::find()
            .select_only()
            .expr_as(Expr::cust(day), "day")
            .columns([Column::ApiKey, Column::UserId, Column::ModelGroup])
            .expr_as(Expr::cust("CAST(SUM(spend_picos) AS BIGINT)"), "spend")
            .filter(filter.condition())
            .group_by(Expr::cust(day))
            .group_by(Column::ApiKey)
            .group_by(Column::UserId)
            .group_by(Column::ModelGroup)
            .into_tuple()
            .all(&self.db)
            .await
    }
}
