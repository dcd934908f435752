//! `spend_daily`: spend per day per key, team, user, end user, model group
//! and in total. Ingest upserts it (one multi-row statement per batch, rows
//! sorted by primary key so concurrent batches lock in the same order);
//! reports read it instead of scanning the spend log.

use super::entities::spend_daily::{Column, Entity, Model};
use crate::spend::EntityKind;
use crate::spend::rollup::{DayKey, Sums};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use std::collections::BTreeMap;

/// 11 parameters per row: 11,000 per statement, under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 1_000;

const SUMMED: [Column; 6] = [
    Column::SpendPicos,
    Column::PromptTokens,
    Column::CompletionTokens,
    Column::Requests,
    Column::SuccessfulRequests,
    Column::FailedRequests,
];

pub async fn upsert(
    txn: &DatabaseTransaction,
    daily: &BTreeMap<DayKey, Sums>,
) -> Result<(), DbErr> {
    let rows: Vec<(&DayKey, &Sums)> = daily.iter().collect();
    let increments: Vec<(Column, SimpleExpr)> = SUMMED
        .iter()
        .map(|c| {
            (
                *c,
                Expr::col((Entity, *c)).add(Expr::col((Alias::new("excluded"), *c))),
            )
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(Entity).columns([
            Column::Day,
            Column::EntityKind,
            Column::EntityId,
            Column::ApiKey,
            Column::ModelGroup,
            Column::SpendPicos,
            Column::PromptTokens,
            Column::CompletionTokens,
            Column::Requests,
            Column::SuccessfulRequests,
            Column::FailedRequests,
        ]);
        for (k, s) in chunk {
            insert
                .values([
                    k.day.clone().into(),
                    k.kind.as_str().into(),
                    k.entity_id.clone().into(),
                    k.api_key.clone().into(),
                    k.model_group.clone().into(),
                    s.spend_picos.into(),
                    s.prompt_tokens.into(),
                    s.completion_tokens.into(),
                    s.requests.into(),
                    s.successful_requests.into(),
                    s.failed_requests.into(),
                ])
                .map_err(|e| DbErr::Custom(format!("spend_daily row: {e}")))?;
        }
        insert.on_conflict(
            OnConflict::columns([
                Column::Day,
                Column::EntityKind,
                Column::EntityId,
                Column::ApiKey,
                Column::ModelGroup,
            ])
            .values(increments.clone())
            .to_owned(),
        );
        txn.execute(&insert).await?;
    }
    Ok(())
}

/// The rows of one kind between two days (inclusive, YYYY-MM-DD).
pub async fn rows(
    db: &DatabaseConnection,
    kind: EntityKind,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::EntityKind.eq(kind.as_str()))
        .filter(Column::Day.gte(from_day))
        .filter(Column::Day.lte(to_day))
        .order_by_asc(Column::Day)
        .order_by_asc(Column::EntityId)
        .order_by_asc(Column::ApiKey)
        .order_by_asc(Column::ModelGroup)
        .all(db)
        .await
}
