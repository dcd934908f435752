//! The append-only spend log. Inserts are idempotent on `request_id`: a
//! batch replayed after a lost ack is stored once.

use super::entities::spend_log::{ActiveModel, Column, Entity};
use super::entities::virtual_key;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, QueryFilter};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, TransactionTrait};
use std::collections::HashMap;

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
    ///
    /// Key spend grows by the cost of the rows actually inserted (the
    /// database says which, via RETURNING): a replayed batch adds nothing.
    pub async fn insert_batch(&self, rows: Vec<ActiveModel>) -> Result<u64, DbErr> {
        if rows.is_empty() {
            return Ok(0);
        }
        let cost_of: HashMap<String, (String, i64)> = rows
            .iter()
            .filter_map(|r| match (&r.request_id, &r.api_key, &r.spend_picos) {
                (Set(id), Set(key), Set(picos)) => Some((id.clone(), (key.clone(), *picos))),
                _ => None,
            })
            .collect();
        let txn = self.db.begin().await?;
        let mut inserted = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
            inserted.extend(
                Entity::insert_many(chunk)
                    .on_conflict(
                        OnConflict::column(Column::RequestId)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_with_returning_keys(&txn)
                    .await?,
            );
        }
        let mut per_key: HashMap<&str, i64> = HashMap::new();
        for id in &inserted {
            if let Some((key, picos)) = cost_of.get(id) {
                let total = per_key.entry(key.as_str()).or_insert(0);
                *total = total.saturating_add(*picos);
            }
        }
        for (key, picos) in per_key.into_iter().filter(|(_, p)| *p > 0) {
            // One UPDATE per key per batch, in token order across batches'
            // transactions: no row-lock cycles between concurrent batches.
            virtual_key::Entity::update_many()
                .col_expr(
                    virtual_key::Column::SpendPicos,
                    Expr::col(virtual_key::Column::SpendPicos).add(picos),
                )
                .col_expr(
                    virtual_key::Column::Spend,
                    Expr::col(virtual_key::Column::SpendPicos)
                        .add(picos)
                        .cast_as("double precision")
                        .div(tollgate_shared::pricing::PICOS_PER_DOLLAR),
                )
                .filter(virtual_key::Column::Token.eq(key))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(u64::try_from(inserted.len()).unwrap_or(u64::MAX))
    }

    pub async fn count(&self) -> Result<u64, DbErr> {
        Entity::find().count(&self.db).await
    }
}
