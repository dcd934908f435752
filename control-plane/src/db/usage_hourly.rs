//! `usage_hourly` and `usage_daily`: the dashboard's rollups (see
//! `spend/hourly.rs`). Ingest upserts both in the same transaction as the
//! logs; the dashboard reads sums over them, never the log. A range longer
//! than [`DAILY_AFTER_HOURS`] reads day rows for its whole UTC days and hour
//! rows only for its partial edge days, so its totals are exact (equal to
//! what the hourly table alone would give) at a 24th of the rows.
//! `usage_monthly` holds the same per calendar month, for month-to-date
//! top lists. `usage_rank_daily` and `usage_rank_monthly` hold the day and
//! month rows' spend and requests only: what a top list ranks on, in rows a
//! fifth as wide (see [`Width`]).

use super::spend_bulk::{self, UsageUpsert};
use crate::spend::hourly::{Dim, HourKey, HourSums, LATENCY_BUCKETS};
use chrono::Datelike;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};

const TABLE: &str = "usage_hourly";
const DAILY_TABLE: &str = "usage_daily";
const MONTHLY_TABLE: &str = "usage_monthly";
const RANK_DAILY_TABLE: &str = "usage_rank_daily";
const RANK_MONTHLY_TABLE: &str = "usage_rank_monthly";
/// The columns a top list ranks on, in its order.
const RANKING: [&str; 2] = ["spend_picos", "requests"];
/// Ranges up to two days read hour rows only: at most 48 per value.
pub const DAILY_AFTER_HOURS: i64 = 48;
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

/// What a rollup table holds: every summed column, or only the ranking's.
/// Why two: a top list over a long range sums every value's rows (200,000
/// at 100,000 keys for 30 days), and full rows (44 sums) made that read
/// mostly pages; it ranks on the narrow day and month tables, then sums the
/// full rows of the values it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Full,
    Ranking,
}

impl Width {
    fn columns(self) -> Vec<String> {
        match self {
            Width::Full => summed_columns(),
            Width::Ranking => RANKING.iter().map(|c| (*c).to_string()).collect(),
        }
    }
    fn values(self, s: &HourSums) -> Vec<i64> {
        match self {
            Width::Full => values(s),
            // In `RANKING`'s order.
            Width::Ranking => vec![s.spend_picos, s.requests],
        }
    }
}

/// Adds the rows to `usage_hourly`, and their sums per UTC day and month to
/// the day and month tables (full and ranking).
pub async fn upsert(
    txn: &DatabaseTransaction,
    rows: &BTreeMap<HourKey, HourSums>,
) -> Result<(), DbErr> {
    // "YYYY-MM-DDTHH" → "YYYY-MM-DD" → "YYYY-MM".
    let days = coarsen(rows, 10);
    let months = coarsen(&days, 7);
    if txn.get_database_backend() == DbBackend::Postgres {
        let full = summed_columns();
        for (table, time_column, mirror, rows) in [
            (TABLE, "hour", None, rows),
            (DAILY_TABLE, "day", Some(RANK_DAILY_TABLE), &days),
            (MONTHLY_TABLE, "month", Some(RANK_MONTHLY_TABLE), &months),
        ] {
            let target = UsageUpsert {
                table,
                time_column,
                columns: &full,
                mirror: mirror.map(|m| (m, RANKING.as_slice())),
            };
            let rows = rows.iter().map(|(k, s)| {
                (
                    [k.dim.as_str(), k.hour.as_str(), k.dim_id.as_str()],
                    values(s),
                )
            });
            spend_bulk::upsert_usage(txn, target, rows).await?;
        }
        return Ok(());
    }
    upsert_into(txn, TABLE, "hour", Width::Full, rows).await?;
    for (full, rank, time, rows) in [
        (DAILY_TABLE, RANK_DAILY_TABLE, "day", &days),
        (MONTHLY_TABLE, RANK_MONTHLY_TABLE, "month", &months),
    ] {
        upsert_into(txn, full, time, Width::Full, rows).await?;
        upsert_into(txn, rank, time, Width::Ranking, rows).await?;
    }
    Ok(())
}

/// `rows` summed per time key cut to its first `len` characters.
fn coarsen(rows: &BTreeMap<HourKey, HourSums>, len: usize) -> BTreeMap<HourKey, HourSums> {
    let mut out: BTreeMap<HourKey, HourSums> = BTreeMap::new();
    for (k, v) in rows {
        out.entry(HourKey {
            dim: k.dim,
            hour: k.hour.get(..len).unwrap_or(&k.hour).to_string(),
            dim_id: k.dim_id.clone(),
        })
        .or_default()
        .add(v);
    }
    out
}

/// Selects `dim_id` and every summed column as stored (not summed).
fn select_raw(q: &mut SelectStatement) {
    q.column(Alias::new("dim_id"));
    for c in summed_columns() {
        q.column(Alias::new(c));
    }
}

/// Rows of `dim_id` and sums, for a top list (no time bucket).
fn top_rows(rows: Vec<QueryResult>) -> Result<Vec<SumRow>, DbErr> {
    rows.iter()
        .map(|row| {
            Ok(SumRow {
                hour: None,
                dim_id: row.try_get("", "dim_id")?,
                sums: read_sums(row)?,
            })
        })
        .collect()
}

/// The `limit` values of `dim` with the most spend in a UTC calendar month
/// ("YYYY-MM"), from `usage_monthly`: an index walk, however many values
/// the month has.
pub async fn top_of_month(
    db: &DatabaseConnection,
    dim: Dim,
    month: &str,
    limit: u64,
) -> Result<Vec<SumRow>, DbErr> {
    let mut q = Query::select();
    select_raw(&mut q);
    q.from(Alias::new(MONTHLY_TABLE))
        .and_where(Expr::col(Alias::new("dim")).eq(dim.as_str()))
        .and_where(Expr::col(Alias::new("month")).eq(month))
        .order_by(Alias::new("spend_picos"), Order::Desc)
        .order_by(Alias::new("requests"), Order::Desc)
        .order_by(Alias::new("dim_id"), Order::Asc)
        .limit(limit);
    top_rows(db.query_all(&q).await?)
}

/// Upserts `rows` into `table`, 600 a statement (SQLite's path; PostgreSQL
/// takes `spend_bulk::upsert_usage`).
async fn upsert_into(
    txn: &DatabaseTransaction,
    table: &str,
    time_column: &str,
    width: Width,
    rows: &BTreeMap<HourKey, HourSums>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let summed = width.columns();
    let increments: Vec<(Alias, SimpleExpr)> = summed
        .iter()
        .map(|c| {
            (
                Alias::new(c),
                Expr::col((Alias::new(table), Alias::new(c)))
                    .add(Expr::col((Alias::new("excluded"), Alias::new(c)))),
            )
        })
        .collect();
    let entries: Vec<(&HourKey, &HourSums)> = rows.iter().collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        let mut columns = vec![
            Alias::new("dim"),
            Alias::new(time_column),
            Alias::new("dim_id"),
        ];
        columns.extend(summed.iter().map(Alias::new));
        insert.into_table(Alias::new(table)).columns(columns);
        for (k, s) in chunk {
            let mut row: Vec<SimpleExpr> = vec![
                k.dim.as_str().into(),
                k.hour.clone().into(),
                k.dim_id.clone().into(),
            ];
            row.extend(width.values(s).into_iter().map(SimpleExpr::from));
            insert
                .values(row)
                .map_err(|e| DbErr::Custom(format!("{table} row: {e}")))?;
        }
        insert.on_conflict(
            OnConflict::columns([
                Alias::new("dim"),
                Alias::new(time_column),
                Alias::new("dim_id"),
            ])
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

/// A rollup table: hour, day or calendar-month rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grain {
    Hour,
    Day,
    Month,
}

/// One table's share of a range: `from`..`to` in its time column's format,
/// added, or (`negative`) subtracted — a month's rows less what of the
/// month lies outside the range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    grain: Grain,
    from: String,
    to: String,
    negative: bool,
}

impl Part {
    /// Hour rows are only kept full: a range's hourly edges are a small
    /// share of its rows.
    fn table(&self, width: Width) -> &'static str {
        match (self.grain, width) {
            (Grain::Hour, _) => TABLE,
            (Grain::Day, Width::Full) => DAILY_TABLE,
            (Grain::Day, Width::Ranking) => RANK_DAILY_TABLE,
            (Grain::Month, Width::Full) => MONTHLY_TABLE,
            (Grain::Month, Width::Ranking) => RANK_MONTHLY_TABLE,
        }
    }
    fn time_column(&self) -> &'static str {
        match self.grain {
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Month => "month",
        }
    }
    fn negated(self) -> Self {
        Self {
            negative: !self.negative,
            ..self
        }
    }
}

fn parse_hour(h: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(&format!("{h}:00:00"), "%Y-%m-%dT%H:%M:%S").ok()
}

fn hour_text(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// The parts a range reads: hour rows only for up to [`DAILY_AFTER_HOURS`]
/// (or when `allow_daily` is false), else day rows for the whole UTC days
/// and hour rows for the partial days at either edge.
fn parts(range: &HourRange, allow_daily: bool) -> Vec<Part> {
    let hourly = |from: &str, to: &str| Part {
        grain: Grain::Hour,
        from: from.to_string(),
        to: to.to_string(),
        negative: false,
    };
    let (Some(from), Some(to)) = (parse_hour(&range.from), parse_hour(&range.to)) else {
        return vec![hourly(&range.from, &range.to)];
    };
    if !allow_daily || (to - from).num_hours() <= DAILY_AFTER_HOURS {
        return vec![hourly(&range.from, &range.to)];
    }
    let first_day = if from.format("%H").to_string() == "00" {
        from.date()
    } else {
        from.date() + chrono::Duration::days(1)
    };
    let last_day = to.date();
    let mut out = Vec::new();
    let day_start = |d: chrono::NaiveDate| d.format("%Y-%m-%dT00").to_string();
    if range.from < day_start(first_day) {
        out.push(hourly(&range.from, &day_start(first_day)));
    }
    if first_day < last_day {
        out.push(Part {
            grain: Grain::Day,
            from: first_day.format("%Y-%m-%d").to_string(),
            to: last_day.format("%Y-%m-%d").to_string(),
            negative: false,
        });
    }
    if day_start(last_day) < range.to {
        out.push(hourly(&day_start(last_day), &range.to));
    }
    out
}

/// The parts whose signed sum is the range, for totals and top lists,
/// using month rows where they save rows: per calendar month the range
/// touches, the whole month's row when the range covers it; when what it
/// leaves out of the month's past (up to `now`) is under a quarter of what
/// it covers, the month's row *less* the parts outside the range (so "month
/// to date" or the 30 days before today are one month row each, less a few
/// days); else
/// the inside's day and hour parts. Every column is a sum, so the
/// difference is exact.
fn signed_parts(range: &HourRange, now: chrono::NaiveDateTime) -> Vec<Part> {
    let (Some(from), Some(to)) = (parse_hour(&range.from), parse_hour(&range.to)) else {
        return parts(range, true);
    };
    let piece = |a: chrono::NaiveDateTime, b: chrono::NaiveDateTime| HourRange {
        from: hour_text(a),
        to: hour_text(b),
    };
    // Hours of [a, b) that lie in the past: where rows can be.
    let past = |a: chrono::NaiveDateTime, b: chrono::NaiveDateTime| {
        Ord::max((Ord::min(b, now) - a).num_hours(), 0)
    };
    let mut out = Vec::new();
    let mut month = from.date().with_day(1).unwrap_or(from.date());
    while month.and_time(chrono::NaiveTime::MIN) < to {
        let next = month + chrono::Months::new(1);
        let (start, end) = (
            month.and_time(chrono::NaiveTime::MIN),
            next.and_time(chrono::NaiveTime::MIN),
        );
        let (lo, hi) = (Ord::max(from, start), Ord::min(to, end));
        let whole = Part {
            grain: Grain::Month,
            from: month.format("%Y-%m").to_string(),
            to: next.format("%Y-%m").to_string(),
            negative: false,
        };
        if lo == start && hi == end {
            out.push(whole);
        } else if 4 * (past(start, lo) + past(hi, end)) < past(lo, hi) {
            out.push(whole);
            for (a, b) in [(start, lo), (hi, end)] {
                if a < b {
                    out.extend(parts(&piece(a, b), true).into_iter().map(Part::negated));
                }
            }
        } else {
            out.extend(parts(&piece(lo, hi), true));
        }
        month = next;
    }
    out
}

fn plan(range: &HourRange) -> Vec<Part> {
    signed_parts(range, chrono::Utc::now().naive_utc())
}

fn where_part(q: &mut SelectStatement, dim: Dim, part: &Part, width: Width) {
    let t = part.time_column();
    q.from(Alias::new(part.table(width)))
        .and_where(Expr::col(Alias::new("dim")).eq(dim.as_str()));
    if part.grain == Grain::Month {
        // One month: an equality, so one value's row is a primary-key
        // lookup (a range on `month` would walk the month's index).
        q.and_where(Expr::col(Alias::new(t)).eq(part.from.clone()));
    } else {
        q.and_where(Expr::col(Alias::new(t)).gte(part.from.clone()))
            .and_where(Expr::col(Alias::new(t)).lt(part.to.clone()));
    }
}

fn add_sums(q: &mut SelectStatement) {
    for c in summed_columns() {
        // BIGINT sums are NUMERIC on PostgreSQL: cast back.
        q.expr_as(
            Expr::cust(format!("CAST(SUM({c}) AS BIGINT)")),
            Alias::new(c),
        );
    }
}

fn sum_select(dim: Dim, part: &Part) -> SelectStatement {
    let mut q = Query::select();
    add_sums(&mut q);
    where_part(&mut q, dim, part, Width::Full);
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
    let mut total = HourSums::default();
    for part in plan(range) {
        let mut q = sum_select(dim, &part);
        if let Some(id) = dim_id {
            q.and_where(Expr::col(Alias::new("dim_id")).eq(id));
        }
        if let Some(row) = db.query_one(&q).await? {
            let sums = read_sums(&row)?;
            if part.negative {
                total.subtract(&sums);
            } else {
                total.add(&sums);
            }
        }
    }
    Ok(total)
}

/// The parts' rows of `columns` (with `dim_id`), signed and unioned: one
/// statement to sum per value.
fn signed_union(
    dim: Dim,
    parts: &[Part],
    width: Width,
    ids: Option<&[String]>,
) -> Option<SelectStatement> {
    let columns = width.columns();
    let mut union: Option<SelectStatement> = None;
    for part in parts {
        let mut inner = Query::select();
        inner.column(Alias::new("dim_id"));
        for c in &columns {
            if part.negative {
                inner.expr_as(Expr::cust(format!("-{c}")), Alias::new(c));
            } else {
                inner.column(Alias::new(c));
            }
        }
        where_part(&mut inner, dim, part, width);
        if let Some(ids) = ids {
            inner.and_where(Expr::col(Alias::new("dim_id")).is_in(ids.iter().cloned()));
        }
        union = Some(match union {
            None => inner,
            Some(mut u) => {
                u.union(UnionType::All, inner);
                u
            }
        });
    }
    union
}

/// The subtracted parts that hold rows: the rest cost nothing to drop
/// (usually a month's future days).
async fn without_empty_negatives(
    db: &DatabaseConnection,
    dim: Dim,
    parts: Vec<Part>,
) -> Result<Vec<Part>, DbErr> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        if part.negative {
            let mut q = Query::select();
            q.expr(Expr::val(1));
            where_part(&mut q, dim, &part, Width::Ranking);
            q.limit(1);
            if db.query_one(&q).await?.is_none() {
                continue;
            }
        }
        out.push(part);
    }
    Ok(out)
}

/// The `limit` values of `dim` with the most spend (then requests) in the
/// range, with their totals; `filter_id` keeps one value only.
///
/// A range that is one calendar month's rows (a whole month, or month to
/// date with nothing after it) walks `usage_monthly`'s spend index. Else the
/// signed parts are summed per value on spend and requests only to pick the
/// values. Either way the chosen values alone are then summed in full.
pub async fn top(
    db: &DatabaseConnection,
    dim: Dim,
    range: &HourRange,
    limit: u64,
    filter_id: Option<&str>,
) -> Result<Vec<SumRow>, DbErr> {
    let parts = without_empty_negatives(db, dim, plan(range)).await?;
    if let ([part], None) = (parts.as_slice(), filter_id)
        && part.grain == Grain::Month
        && !part.negative
    {
        return top_of_month(db, dim, &part.from, limit).await;
    }
    let filter: Option<Vec<String>> = filter_id.map(|id| vec![id.to_string()]);
    let ids = ranked(db, dim, &parts, limit, filter.as_deref()).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sums = signed_sums(db, dim, &parts, &ids).await?;
    Ok(ids
        .into_iter()
        .map(|dim_id| SumRow {
            hour: None,
            sums: sums.remove(&dim_id).unwrap_or_default(),
            dim_id,
        })
        .collect())
}

/// PostgreSQL settings for [`ranked`]'s one statement (`SET LOCAL`: its
/// transaction only). Why: the planner cannot estimate the groups of a
/// `UNION ALL` (it assumes 200), so at 100,000 keys it picked a parallel
/// partial aggregate whose sorts spilled to disk, and JIT compilation on
/// top: 600 ms for 30 days by key where one hash aggregate in memory
/// takes 270 ms, and 900 ms against 450 ms for 7 days (the data shape of
/// `bench/ui_pages.py`; docs/PERFORMANCE.md).
const RANKING_PLANNER: &str = "SET LOCAL max_parallel_workers_per_gather = 0; \
     SET LOCAL jit = off; SET LOCAL work_mem = '32MB'";

/// The values with the most spend (then requests) over the signed parts:
/// every value's rows summed, on spend and requests only, from the
/// ranking tables ([`Width::Ranking`]).
async fn ranked(
    db: &DatabaseConnection,
    dim: Dim,
    parts: &[Part],
    limit: u64,
    ids: Option<&[String]>,
) -> Result<Vec<String>, DbErr> {
    let Some(union) = signed_union(dim, parts, Width::Ranking, ids) else {
        return Ok(Vec::new());
    };
    let mut q = Query::select();
    q.from_subquery(union, Alias::new("u"))
        .column(Alias::new("dim_id"))
        .group_by_col(Alias::new("dim_id"))
        // A value whose rows all lie outside the range nets to nothing.
        .and_having(Expr::cust("SUM(requests) > 0"))
        .order_by_expr(Expr::cust("SUM(spend_picos)"), Order::Desc)
        .order_by_expr(Expr::cust("SUM(requests)"), Order::Desc)
        .order_by(Alias::new("dim_id"), Order::Asc)
        .limit(limit);
    let rows = if db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_unprepared(RANKING_PLANNER).await?;
        let rows = txn.query_all(&q).await?;
        txn.commit().await?;
        rows
    } else {
        db.query_all(&q).await?
    };
    rows.iter().map(|row| row.try_get("", "dim_id")).collect()
}

/// Every column summed over the signed parts, for these values only.
async fn signed_sums(
    db: &DatabaseConnection,
    dim: Dim,
    parts: &[Part],
    ids: &[String],
) -> Result<HashMap<String, HourSums>, DbErr> {
    let mut sums: HashMap<String, HourSums> = HashMap::new();
    let Some(union) = signed_union(dim, parts, Width::Full, Some(ids)) else {
        return Ok(sums);
    };
    let mut q = Query::select();
    add_sums(&mut q);
    q.from_subquery(union, Alias::new("u"))
        .column(Alias::new("dim_id"))
        .group_by_col(Alias::new("dim_id"));
    for row in db.query_all(&q).await? {
        sums.insert(row.try_get("", "dim_id")?, read_sums(&row)?);
    }
    Ok(sums)
}

/// Rows of `dim` in the range, for the given values only (`None`: every
/// value — only for small dimensions such as the whole proxy), in time
/// order. With `days` (day buckets on UTC days) whole days come as one row
/// each, its `hour` that day's "YYYY-MM-DDT00"; else one row per hour.
pub async fn hours(
    db: &DatabaseConnection,
    dim: Dim,
    range: &HourRange,
    ids: Option<&[String]>,
    days: bool,
) -> Result<Vec<SumRow>, DbErr> {
    if ids.is_some_and(|ids| ids.is_empty()) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in parts(range, days) {
        let t = part.time_column();
        let mut q = sum_select(dim, &part);
        q.column(Alias::new(t))
            .column(Alias::new("dim_id"))
            .group_by_col(Alias::new(t))
            .group_by_col(Alias::new("dim_id"))
            .order_by(Alias::new(t), Order::Asc);
        if let Some(ids) = ids {
            q.and_where(Expr::col(Alias::new("dim_id")).is_in(ids.iter().cloned()));
        }
        for row in db.query_all(&q).await? {
            let time: String = row.try_get("", t)?;
            out.push(SumRow {
                hour: Some(if part.grain == Grain::Day {
                    format!("{time}T00")
                } else {
                    time
                }),
                dim_id: row.try_get("", "dim_id")?,
                sums: read_sums(&row)?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> HourRange {
        HourRange {
            from: from.into(),
            to: to.into(),
        }
    }

    fn part(grain: Grain, from: &str, to: &str, negative: bool) -> Part {
        Part {
            grain,
            from: from.into(),
            to: to.into(),
            negative,
        }
    }

    fn at(hour: &str) -> chrono::NaiveDateTime {
        parse_hour(hour).expect("hour")
    }

    #[test]
    fn long_ranges_read_whole_days_and_hourly_edges() {
        let short = range("2026-11-01T05", "2026-11-03T05");
        assert_eq!(parts(&short, true).len(), 1);
        let long = range("2026-11-01T05", "2026-11-05T07");
        assert_eq!(
            parts(&long, true),
            [
                part(Grain::Hour, "2026-11-01T05", "2026-11-02T00", false),
                part(Grain::Day, "2026-11-02", "2026-11-05", false),
                part(Grain::Hour, "2026-11-05T00", "2026-11-05T07", false),
            ]
        );
        let aligned = range("2026-11-01T00", "2026-11-05T00");
        assert_eq!(
            parts(&aligned, true),
            [part(Grain::Day, "2026-11-01", "2026-11-05", false)]
        );
        assert_eq!(parts(&long, false).len(), 1);
    }

    #[test]
    fn month_to_date_is_the_month_row_less_the_rest_of_the_month() {
        let now = at("2026-12-10T15");
        let mtd = range("2026-12-01T00", "2026-12-10T16");
        assert_eq!(
            signed_parts(&mtd, now),
            [
                part(Grain::Month, "2026-12", "2027-01", false),
                part(Grain::Hour, "2026-12-10T16", "2026-12-11T00", true),
                part(Grain::Day, "2026-12-11", "2027-01-01", true),
            ]
        );
        // A whole month, and one in the past, are their rows alone.
        let november = range("2026-11-01T00", "2026-12-01T00");
        assert_eq!(
            signed_parts(&november, now),
            [part(Grain::Month, "2026-11", "2026-12", false)]
        );
    }

    #[test]
    fn thirty_days_use_each_month_row_where_it_covers_more_than_it_leaves_out() {
        // 30 days ending in the current hour: most of November (less its
        // first three days) and December to date.
        let now = at("2026-12-02T15");
        let last30 = range("2026-11-03T00", "2026-12-02T16");
        assert_eq!(
            signed_parts(&last30, now),
            [
                part(Grain::Month, "2026-11", "2026-12", false),
                // Two days: hour rows, as any range that short.
                part(Grain::Hour, "2026-11-01T00", "2026-11-03T00", true),
                part(Grain::Month, "2026-12", "2027-01", false),
                part(Grain::Hour, "2026-12-02T16", "2026-12-03T00", true),
                part(Grain::Day, "2026-12-03", "2027-01-01", true),
            ]
        );
        // A few days at a month's end read their own rows.
        let edge = range("2026-10-28T05", "2026-11-03T00");
        assert_eq!(
            signed_parts(&edge, now),
            [
                part(Grain::Hour, "2026-10-28T05", "2026-10-29T00", false),
                part(Grain::Day, "2026-10-29", "2026-11-01", false),
                part(Grain::Hour, "2026-11-01T00", "2026-11-03T00", false),
            ]
        );
        // Short ranges: hour rows, per month.
        let short = range("2026-11-30T20", "2026-12-01T20");
        assert_eq!(
            signed_parts(&short, now),
            [
                part(Grain::Hour, "2026-11-30T20", "2026-12-01T00", false),
                part(Grain::Hour, "2026-12-01T00", "2026-12-01T20", false),
            ]
        );
        // Month to date on the 2nd: the month's row, less nothing but the future.
        let mtd = range("2026-12-01T00", "2026-12-02T16");
        assert_eq!(
            signed_parts(&mtd, now)[0],
            part(Grain::Month, "2026-12", "2027-01", false)
        );
    }
}
