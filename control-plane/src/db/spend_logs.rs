//! The append-only spend log. Inserts are idempotent on `request_id`: a
//! batch replayed after a lost ack is stored once.

use super::entities::spend_log::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, TransactionTrait};

#[derive(Clone)]
pub struct SpendLogs {
    db: DatabaseConnection,
}

/// Rows per INSERT statement: keeps statements well under the bind-parameter
/// limits of both backends (SQLite: 32,766; 20 columns per row).
const ROWS_PER_STATEMENT: usize = 500;

impl SpendLogs {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a batch in one transaction and returns how many rows were new.
    /// Only after this returns may the batch be acknowledged.
    pub async fn insert_batch(&self, rows: Vec<ActiveModel>) -> Result<u64, DbErr> {
        if rows.is_empty() {
            return Ok(0);
        }
        let txn = self.db.begin().await?;
        let mut stored = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
            stored += Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::column(Column::RequestId)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(stored)
    }

    pub async fn count(&self) -> Result<u64, DbErr> {
        Entity::find().count(&self.db).await
    }
}
