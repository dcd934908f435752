//! `usage_hourly`: the dashboard's rollup (see `spend/hourly.rs`). Ingest
//! upserts it in the same transaction as the logs; the dashboard reads sums
//! over it, never the log.

use crate::spend::hourly::{Dim, HourKey, HourSums, LATENCY_BUCKETS};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult};
use std::collections::BTreeMap;

const TABLE: &str = "usage_hourly";
const METRICS: [&str; 8] = [
    "requests",
    "errors",
    "spend_picos",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "latency_ms_sum",
    "overhead_us_sum",
];
/// 47 parameters per row: 600 rows stay under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 600;

fn latency_column(i: usize) -> String {
    format!("lat_{i:02}")
}

fn summed_columns() -> Vec<String> {
    METRICS
        .iter()
        .map(|m| (*m).to_string())
        .chain((0..LATENCY_BUCKETS).map(latency_column))
        .collect()
}

fn values(s: &HourSums) -> Vec<i64> {
    let mut v = vec![
        s.requests,
        s.errors,
        s.spend_picos,
        s.prompt_tokens,
        s.completion_tokens,
        s.cached_tokens,
        s.latency_ms_sum,
        s.overhead_us_sum,
    ];
    v.extend_from_slice(&s.latency);
    v
}

pub async fn upsert(
    txn: &DatabaseTransaction,
    rows: &BTreeMap<HourKey, HourSums>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let summed = summed_columns();
    let increments: Vec<(Alias, SimpleExpr)> = summed
        .iter()
        .map(|c| {
            (
                Alias::new(c),
                Expr::col((Alias::new(TABLE), Alias::new(c)))
                    .add(Expr::col((Alias::new("excluded"), Alias::new(c)))),
            )
        })
        .collect();
    let entries: Vec<(&HourKey, &HourSums)> = rows.iter().collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        let mut columns = vec![Alias::new("dim"), Alias::new("hour"), Alias::new("dim_id")];
        columns.extend(summed.iter().map(Alias::new));
        insert.into_table(Alias::new(TABLE)).columns(columns);
        for (k, s) in chunk {
            let mut row: Vec<SimpleExpr> = vec![
                k.dim.as_str().into(),
                k.hour.clone().into(),
                k.dim_id.clone().into(),
            ];
            row.extend(values(s).into_iter().map(SimpleExpr::from));
            insert
                .values(row)
                .map_err(|e| DbErr::Custom(format!("usage_hourly row: {e}")))?;
        }
        insert.on_conflict(
            OnConflict::columns([Alias::new("dim"), Alias::new("hour"), Alias::new("dim_id")])
                .values(increments.clone())
                .to_owned(),
        );
        txn.execute(&insert).await?;
    }
    Ok(())
}

/// An inclusive-exclusive range of UTC hours ("YYYY-MM-DDTHH").
#[derive(Debug, Clone)]
pub struct HourRange {
    pub from: String,
    pub to: String,
}

/// Summed rows: one per `dim_id`, or one per (`hour`, `dim_id`).
#[derive(Debug, Clone)]
pub struct SumRow {
    pub hour: Option<String>,
    pub dim_id: String,
    pub sums: HourSums,
}

fn sum_select(dim: Dim, range: &HourRange) -> SelectStatement {
    let mut q = Query::select();
    q.from(Alias::new(TABLE));
    for c in summed_columns() {
        // BIGINT sums are NUMERIC on PostgreSQL: cast back.
        q.expr_as(
            Expr::cust(format!("CAST(SUM({c}) AS BIGINT)")),
            Alias::new(c),
        );
    }
    q.and_where(Expr::col(Alias::new("dim")).eq(dim.as_str()))
        .and_where(Expr::col(Alias::new("hour")).gte(range.from.clone()))
        .and_where(Expr::col(Alias::new("hour")).lt(range.to.clone()));
    q
}

fn read_sums(row: &QueryResult) -> Result<HourSums, DbErr> {
    let get =
        |c: &str| -> Result<i64, DbErr> { Ok(row.try_get::<Option<i64>>("", c)?.unwrap_or(0)) };
    let mut s = HourSums {
        requests: get("requests")?,
        errors: get("errors")?,
        spend_picos: get("spend_picos")?,
        prompt_tokens: get("prompt_tokens")?,
        completion_tokens: get("completion_tokens")?,
        cached_tokens: get("cached_tokens")?,
        latency_ms_sum: get("latency_ms_sum")?,
        overhead_us_sum: get("overhead_us_sum")?,
        ..HourSums::default()
    };
    for (i, slot) in s.latency.iter_mut().enumerate() {
        *slot = get(&latency_column(i))?;
    }
    Ok(s)
}

/// The totals of `dim` over the range (one `dim_id`, or all of them).
pub async fn totals(
    db: &DatabaseConnection,
    dim: Dim,
    range: &HourRange,
    dim_id: Option<&str>,
) -> Result<HourSums, DbErr> {
    let mut q = sum_select(dim, range);
    if let Some(id) = dim_id {
        q.and_where(Expr::col(Alias::new("dim_id")).eq(id));
    }
    match db.query_one(&q).await? {
        Some(row) => read_sums(&row),
        None => Ok(HourSums::default()),
    }
}

/// The `limit` values of `dim` with the most spend (then requests) in the
/// range, with their totals; `filter_id` keeps one value only.
pub async fn top(
    db: &DatabaseConnection,
    dim: Dim,
    range: &HourRange,
    limit: u64,
    filter_id: Option<&str>,
) -> Result<Vec<SumRow>, DbErr> {
    let mut q = sum_select(dim, range);
    q.column(Alias::new("dim_id"))
        .group_by_col(Alias::new("dim_id"))
        .order_by_expr(Expr::cust("SUM(spend_picos)"), Order::Desc)
        .order_by_expr(Expr::cust("SUM(requests)"), Order::Desc)
        .order_by(Alias::new("dim_id"), Order::Asc)
        .limit(limit);
    if let Some(id) = filter_id {
        q.and_where(Expr::col(Alias::new("dim_id")).eq(id));
    }
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        out.push(SumRow {
            hour: None,
            dim_id: row.try_get("", "dim_id")?,
            sums: read_sums(&row)?,
        });
    }
    Ok(out)
}

/// Hourly rows of `dim` in the range, for the given values only (`None`:
/// every value — only for small dimensions such as the whole proxy).
pub async fn hours(
    db: &DatabaseConnection,
    dim: Dim,
    range: &HourRange,
    ids: Option<&[String]>,
) -> Result<Vec<SumRow>, DbErr> {
    let mut q = sum_select(dim, range);
    q.column(Alias::new("hour"))
        .column(Alias::new("dim_id"))
        .group_by_col(Alias::new("hour"))
        .group_by_col(Alias::new("dim_id"))
        .order_by(Alias::new("hour"), Order::Asc);
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        q.and_where(Expr::col(Alias::new("dim_id")).is_in(ids.iter().cloned()));
    }
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        out.push(SumRow {
            hour: Some(row.try_get("", "hour")?),
            dim_id: row.try_get("", "dim_id")?,
            sums: read_sums(&row)?,
        });
    }
    Ok(out)
}
