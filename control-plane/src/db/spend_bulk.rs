//! PostgreSQL's fast path for ingest: each column of a batch travels as one
//! array parameter expanded by `unnest`, instead of a VALUES list of tens of
//! thousands of bind parameters. One short statement per table per
//! transaction; PostgreSQL parses array literals far faster than it plans
//! huge VALUES lists (or parses the same rows as JSON objects), and the
//! gateway skips building them.

use super::entities::spend_log::Model;
use crate::spend::rollup::{DayKey, Sums};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, Value};
use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};

/// A PostgreSQL array literal (`{"a","b",NULL}`), sent as text and cast.
struct Array {
    literal: String,
    first: bool,
}

impl Array {
    fn new(capacity: usize) -> Self {
        let mut literal = String::with_capacity(capacity);
        literal.push('{');
        Self {
            literal,
            first: true,
        }
    }

    fn separator(&mut self) {
        if !self.first {
            self.literal.push(',');
        }
        self.first = false;
    }

    fn text(&mut self, value: Option<&str>) {
        self.separator();
        let Some(v) = value else {
            self.literal.push_str("NULL");
            return;
        };
        self.literal.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                self.literal.push('\\');
            }
            self.literal.push(c);
        }
        self.literal.push('"');
    }

    fn plain(&mut self, value: Option<impl Display>) {
        self.separator();
        match value {
            Some(v) => {
                let _ = write!(self.literal, "{v}");
            }
            None => self.literal.push_str("NULL"),
        }
    }

    fn time(&mut self, value: Option<chrono::DateTime<chrono::Utc>>) {
        self.text(value.map(|t| t.to_rfc3339()).as_deref());
    }

    fn finish(mut self) -> Value {
        self.literal.push('}');
        Value::from(self.literal)
    }
}

/// Writes one row across the column arrays, left to right.
struct Cursor<'c> {
    cols: &'c mut [Array],
    at: usize,
}

impl<'c> Cursor<'c> {
    fn new(cols: &'c mut [Array]) -> Self {
        Self { cols, at: 0 }
    }

    fn next(&mut self) -> Option<&mut Array> {
        self.at += 1;
        self.cols.get_mut(self.at - 1)
    }

    fn text(&mut self, v: Option<&str>) {
        if let Some(a) = self.next() {
            a.text(v);
        }
    }

    fn plain(&mut self, v: Option<impl Display>) {
        if let Some(a) = self.next() {
            a.plain(v);
        }
    }

    fn time(&mut self, v: Option<chrono::DateTime<chrono::Utc>>) {
        if let Some(a) = self.next() {
            a.time(v);
        }
    }
}

/// Runs one of this module's statements (PostgreSQL only).
async fn execute(
    txn: &DatabaseTransaction,
    sql: impl Into<String>,
    values: impl IntoIterator<Item = Value>,
) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map(|_| ())
}

fn placeholders(types: &[&str]) -> String {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::text::{t}[]", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

const LOG_COLUMNS: [(&str, &str); 35] = [
    ("request_id", "text"),
    ("node_id", "text"),
    ("call_type", "text"),
    ("api_key", "text"),
    ("model_group", "text"),
    ("model_id", "text"),
    ("provider", "text"),
    ("api_base", "text"),
    ("prompt_tokens", "bigint"),
    ("completion_tokens", "bigint"),
    ("total_tokens", "bigint"),
    ("status", "text"),
    ("error_type", "text"),
    ("http_status", "integer"),
    ("start_time", "timestamptz"),
    ("end_time", "timestamptz"),
    ("completion_start_time", "timestamptz"),
    ("stream", "boolean"),
    ("end_user", "text"),
    ("received_at", "timestamptz"),
    ("spend", "double precision"),
    ("spend_picos", "bigint"),
    ("cost_known", "boolean"),
    ("key_alias", "text"),
    ("team_id", "text"),
    ("user_id", "text"),
    ("cached_tokens", "bigint"),
    ("retries", "integer"),
    ("fallbacks", "integer"),
    ("tags", "text"),
    ("metadata", "text"),
    ("overhead_us", "bigint"),
    ("usage_source", "text"),
    ("trace_id", "text"),
    ("span_id", "text"),
];

/// Inserts the logs; returns the request ids that were new.
pub async fn insert_logs(txn: &DatabaseTransaction, logs: &[Model]) -> Result<Vec<String>, DbErr> {
    let mut cols: Vec<Array> = LOG_COLUMNS
        .iter()
        .map(|_| Array::new(logs.len() * 16))
        .collect();
    for m in logs {
        let mut c = Cursor::new(&mut cols);
        c.text(Some(&m.request_id));
        c.text(Some(&m.node_id));
        c.text(Some(&m.call_type));
        c.text(Some(&m.api_key));
        c.text(Some(&m.model_group));
        c.text(Some(&m.model_id));
        c.text(Some(&m.provider));
        c.text(Some(&m.api_base));
        c.plain(Some(m.prompt_tokens));
        c.plain(Some(m.completion_tokens));
        c.plain(Some(m.total_tokens));
        c.text(Some(&m.status));
        c.text(m.error_type.as_deref());
        c.plain(Some(m.http_status));
        c.time(Some(m.start_time));
        c.time(Some(m.end_time));
        c.time(m.completion_start_time);
        c.plain(Some(m.stream));
        c.text(m.end_user.as_deref());
        c.time(Some(m.received_at));
        // Rust's `Display` never uses exponent notation: PostgreSQL reads it.
        c.plain(Some(if m.spend.is_finite() { m.spend } else { 0.0 }));
        c.plain(Some(m.spend_picos));
        c.plain(Some(m.cost_known));
        c.text(m.key_alias.as_deref());
        c.text(m.team_id.as_deref());
        c.text(m.user_id.as_deref());
        c.plain(Some(m.cached_tokens));
        c.plain(Some(m.retries));
        c.plain(Some(m.fallbacks));
        c.text(Some(&m.tags));
        c.text(m.metadata.as_deref());
        c.plain(Some(m.overhead_us));
        c.text(Some(&m.usage_source));
        c.text(m.trace_id.as_deref());
        c.text(m.span_id.as_deref());
    }
    let names: Vec<&str> = LOG_COLUMNS.iter().map(|(n, _)| *n).collect();
    let types: Vec<&str> = LOG_COLUMNS.iter().map(|(_, t)| *t).collect();
    let sql = format!(
        "INSERT INTO spend_logs ({}) SELECT * FROM unnest({}) \
         ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
        names.join(", "),
        placeholders(&types)
    );
    let values: Vec<Value> = cols.into_iter().map(Array::finish).collect();
    let inserted = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    inserted
        .iter()
        .map(|r| r.try_get::<String>("", "request_id"))
        .collect()
}

/// Upserts the daily aggregates in primary-key order, so concurrent writers
/// (several control planes) lock rows in the same sequence.
pub async fn upsert_daily(
    txn: &DatabaseTransaction,
    daily: &BTreeMap<DayKey, Sums>,
) -> Result<(), DbErr> {
    if daily.is_empty() {
        return Ok(());
    }
    let mut cols: Vec<Array> = (0..11).map(|_| Array::new(daily.len() * 16)).collect();
    for (k, s) in daily {
        let mut c = Cursor::new(&mut cols);
        c.text(Some(&k.day));
        c.text(Some(k.kind.as_str()));
        c.text(Some(&k.entity_id));
        c.text(Some(&k.api_key));
        c.text(Some(&k.model_group));
        c.plain(Some(s.spend_picos));
        c.plain(Some(s.prompt_tokens));
        c.plain(Some(s.completion_tokens));
        c.plain(Some(s.requests));
        c.plain(Some(s.successful_requests));
        c.plain(Some(s.failed_requests));
    }
    let sql = format!(
        "INSERT INTO spend_daily (day, entity_kind, entity_id, api_key, model_group, spend_picos, \
         prompt_tokens, completion_tokens, requests, successful_requests, failed_requests) \
         SELECT * FROM unnest({}) AS x(day, entity_kind, entity_id, api_key, model_group, \
         spend_picos, prompt_tokens, completion_tokens, requests, successful_requests, failed_requests) \
         ORDER BY day, entity_kind, entity_id, api_key, model_group \
         ON CONFLICT (day, entity_kind, entity_id, api_key, model_group) DO UPDATE SET \
         spend_picos = spend_daily.spend_picos + excluded.spend_picos, \
         prompt_tokens = spend_daily.prompt_tokens + excluded.prompt_tokens, \
         completion_tokens = spend_daily.completion_tokens + excluded.completion_tokens, \
         requests = spend_daily.requests + excluded.requests, \
         successful_requests = spend_daily.successful_requests + excluded.successful_requests, \
         failed_requests = spend_daily.failed_requests + excluded.failed_requests",
        placeholders(&[
            "text", "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint",
            "bigint", "bigint",
        ])
    );
    let values: Vec<Value> = cols.into_iter().map(Array::finish).collect();
    execute(txn, sql, values).await
}

/// `spend_totals::add_to_existing` for PostgreSQL: ids and amounts as two
/// arrays, sorted by id.
pub async fn add_to_existing(
    txn: &DatabaseTransaction,
    table: &str,
    id_column: &str,
    totals: &BTreeMap<String, i64>,
    with_usd: bool,
) -> Result<(), DbErr> {
    let mut ids = Array::new(totals.len() * 16);
    let mut amounts = Array::new(totals.len() * 8);
    for (id, picos) in totals.iter().filter(|(_, p)| **p != 0) {
        ids.text(Some(id));
        amounts.plain(Some(*picos));
    }
    if ids.first {
        return Ok(());
    }
    let usd = super::spend_totals::usd_assignment(table, "v.picos", with_usd);
    let sql = format!(
        "UPDATE {table} SET spend_picos = {table}.spend_picos + v.picos{usd} \
         FROM unnest($1::text::text[], $2::text::bigint[]) AS v(id, picos) \
         WHERE {table}.{id_column} = v.id"
    );
    execute(txn, sql, [ids.finish(), amounts.finish()]).await
}

/// `spend_totals::upsert_customers` for PostgreSQL.
pub async fn upsert_customers(
    txn: &DatabaseTransaction,
    totals: &BTreeMap<String, i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    if totals.is_empty() {
        return Ok(());
    }
    let mut ids = Array::new(totals.len() * 16);
    let mut amounts = Array::new(totals.len() * 8);
    for (id, picos) in totals {
        ids.text(Some(id));
        amounts.plain(Some(*picos));
    }
    let sql = "INSERT INTO customers (user_id, spend_picos, created_at, updated_at) \
        SELECT v.id, v.picos, $3, $3 FROM unnest($1::text::text[], $2::text::bigint[]) AS v(id, picos) \
        ORDER BY v.id \
        ON CONFLICT (user_id) DO UPDATE SET spend_picos = customers.spend_picos + excluded.spend_picos";
    execute(txn, sql, [ids.finish(), amounts.finish(), Value::from(now)]).await
}

/// `usage_hourly::upsert` for PostgreSQL: one rollup table's rows as one
/// array per column (3 text, the rest `bigint`), added to what is stored.
/// Why: as VALUES lists these rows are 47 bind parameters each, and the
/// rollups' upserts took about half of ingest's time on PostgreSQL.
/// `mirror`: a ranking table (and its columns, a subset of `columns`) set
/// to the upserted rows' new totals in the same statement, by `RETURNING`.
pub struct UsageUpsert<'a> {
    pub table: &'a str,
    pub time_column: &'a str,
    pub columns: &'a [String],
    pub mirror: Option<(&'a str, &'a [&'a str])>,
}

pub async fn upsert_usage<'r>(
    txn: &DatabaseTransaction,
    target: UsageUpsert<'_>,
    rows: impl ExactSizeIterator<Item = ([&'r str; 3], Vec<i64>)>,
) -> Result<(), DbErr> {
    if rows.len() == 0 {
        return Ok(());
    }
    let UsageUpsert {
        table,
        time_column: t,
        columns,
        mirror,
    } = target;
    let n = rows.len();
    let mut cols: Vec<Array> = (0..3 + columns.len())
        .map(|i| Array::new(n * if i < 3 { 24 } else { 4 }))
        .collect();
    for (keys, values) in rows {
        let mut c = Cursor::new(&mut cols);
        for k in keys {
            c.text(Some(k));
        }
        for v in values {
            c.plain(Some(v));
        }
    }
    let names = format!("dim, {t}, dim_id, {}", columns.join(", "));
    let types: Vec<&str> = (0..cols.len())
        .map(|i| if i < 3 { "text" } else { "bigint" })
        .collect();
    let added = columns
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Sorted on the key: concurrent writers lock rows in the same order.
    let upsert = format!(
        "INSERT INTO {table} ({names}) SELECT * FROM unnest({}) AS x({names}) \
         ORDER BY dim, {t}, dim_id ON CONFLICT (dim, {t}, dim_id) DO UPDATE SET {added}",
        placeholders(&types)
    );
    let sql = match mirror {
        None => upsert,
        Some((mirror, mirrored)) => {
            let m = format!("dim, {t}, dim_id, {}", mirrored.join(", "));
            let set = mirrored
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "WITH full_rows AS ({upsert} RETURNING {m}) \
                 INSERT INTO {mirror} ({m}) SELECT {m} FROM full_rows \
                 ON CONFLICT (dim, {t}, dim_id) DO UPDATE SET {set}"
            )
        }
    };
    let values: Vec<Value> = cols.into_iter().map(Array::finish).collect();
    execute(txn, sql, values).await
}
