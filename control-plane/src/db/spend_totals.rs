//! Running spend totals of keys, teams, users and end users, grown by each
//! ingested batch: one statement per table per batch, rows in sorted order.
//!
//! `UPDATE … FROM (VALUES …)` instead of one UPDATE per entity: a batch from
//! a busy data plane touches many keys, and per-row statements would turn
//! every batch into a storm of row locks held across round trips.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, Value};
use std::collections::BTreeMap;

/// Rows per statement: two parameters each, far below both backends' limits.
const ROWS_PER_STATEMENT: usize = 1_000;

fn placeholders(backend: DbBackend, rows: usize, per_row: usize) -> String {
    let mut n = 0;
    (0..rows)
        .map(|_| {
            let cells: Vec<String> = (0..per_row)
                .map(|_| {
                    n += 1;
                    match backend {
                        DbBackend::Postgres => format!("${n}"),
                        _ => "?".to_string(),
                    }
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `, spend = …`: the LiteLLM-compatible USD column kept equal to the
/// picodollar total after adding `increment`; empty for tables without it.
pub(super) fn usd_assignment(table: &str, increment: &str, with_usd: bool) -> String {
    if !with_usd {
        return String::new();
    }
    format!(
        ", spend = CAST({table}.spend_picos + {increment} AS DOUBLE PRECISION) / {}",
        tollgate_shared::pricing::PICOS_PER_DOLLAR
    )
}

fn values(chunk: &[(&String, &i64)]) -> Vec<Value> {
    chunk
        .iter()
        .flat_map(|(id, picos)| [Value::from((*id).clone()), Value::from(**picos)])
        .collect()
}

/// Adds to `spend_picos` of existing rows of `table` keyed by `id_column`;
/// ids without a row are ignored (LiteLLM does the same for unknown teams and
/// users). Keys also keep LiteLLM's float `spend` in step.
pub async fn add_to_existing(
    txn: &DatabaseTransaction,
    table: &str,
    id_column: &str,
    totals: &BTreeMap<String, i64>,
    with_usd: bool,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let rows: Vec<(&String, &i64)> = totals.iter().filter(|(_, p)| **p != 0).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let usd = usd_assignment(table, "v.column2", with_usd);
        let sql = format!(
            "UPDATE {table} SET spend_picos = {table}.spend_picos + v.column2{usd} \
             FROM (VALUES {}) AS v WHERE {table}.{id_column} = v.column1",
            placeholders(backend, chunk.len(), 2)
        );
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values(chunk)))
            .await?;
    }
    Ok(())
}

/// End users are created on first sight (as LiteLLM does), then their spend
/// grows.
pub async fn upsert_customers(
    txn: &DatabaseTransaction,
    totals: &BTreeMap<String, i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let rows: Vec<(&String, &i64)> = totals.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO customers (user_id, spend_picos, created_at, updated_at) VALUES {} \
             ON CONFLICT (user_id) DO UPDATE SET spend_picos = customers.spend_picos + excluded.spend_picos",
            placeholders(backend, chunk.len(), 4)
        );
        let params: Vec<Value> = chunk
            .iter()
            .flat_map(|(id, picos)| {
                [
                    Value::from((*id).clone()),
                    Value::from(**picos),
                    Value::from(now),
                    Value::from(now),
                ]
            })
            .collect();
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, params))
            .await?;
    }
    Ok(())
}
