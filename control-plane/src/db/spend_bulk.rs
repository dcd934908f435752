//! PostgreSQL's fast path for ingest: a whole batch travels as one JSON
//! parameter expanded by `json_to_recordset`, instead of a VALUES list of
//! tens of thousands of bind parameters. One short statement (prepared once)
//! per table per transaction; PostgreSQL parses JSON far faster than it
//! plans huge VALUES lists, and the gateway skips building them.

use super::entities::spend_log::Model;
use crate::spend::rollup::{DayKey, Sums};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, Value};
use serde::Serialize;
use std::collections::BTreeMap;

const LOG_COLUMNS: &str = "request_id text, node_id text, call_type text, api_key text, \
    model_group text, model_id text, provider text, api_base text, prompt_tokens bigint, \
    completion_tokens bigint, total_tokens bigint, status text, error_type text, http_status integer, \
    start_time timestamptz, end_time timestamptz, completion_start_time timestamptz, stream boolean, \
    end_user text, received_at timestamptz, spend double precision, spend_picos bigint, \
    cost_known boolean, key_alias text, team_id text, user_id text, cached_tokens bigint, \
    retries integer, fallbacks integer, tags text, metadata text, overhead_us bigint, \
    usage_source text";

#[derive(Serialize)]
struct LogRow<'a> {
    request_id: &'a str,
    node_id: &'a str,
    call_type: &'a str,
    api_key: &'a str,
    model_group: &'a str,
    model_id: &'a str,
    provider: &'a str,
    api_base: &'a str,
    prompt_tokens: i64,
    completion_tokens: i64,
    total_tokens: i64,
    status: &'a str,
    error_type: Option<&'a str>,
    http_status: i32,
    start_time: chrono::DateTime<chrono::Utc>,
    end_time: chrono::DateTime<chrono::Utc>,
    completion_start_time: Option<chrono::DateTime<chrono::Utc>>,
    stream: bool,
    end_user: Option<&'a str>,
    received_at: chrono::DateTime<chrono::Utc>,
    spend: f64,
    spend_picos: i64,
    cost_known: bool,
    key_alias: Option<&'a str>,
    team_id: Option<&'a str>,
    user_id: Option<&'a str>,
    cached_tokens: i64,
    retries: i32,
    fallbacks: i32,
    tags: &'a str,
    metadata: Option<&'a str>,
    overhead_us: i64,
    usage_source: &'a str,
}

impl<'a> From<&'a Model> for LogRow<'a> {
    fn from(m: &'a Model) -> Self {
        Self {
            request_id: &m.request_id,
            node_id: &m.node_id,
            call_type: &m.call_type,
            api_key: &m.api_key,
            model_group: &m.model_group,
            model_id: &m.model_id,
            provider: &m.provider,
            api_base: &m.api_base,
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
            total_tokens: m.total_tokens,
            status: &m.status,
            error_type: m.error_type.as_deref(),
            http_status: m.http_status,
            start_time: m.start_time,
            end_time: m.end_time,
            completion_start_time: m.completion_start_time,
            stream: m.stream,
            end_user: m.end_user.as_deref(),
            received_at: m.received_at,
            spend: m.spend,
            spend_picos: m.spend_picos,
            cost_known: m.cost_known,
            key_alias: m.key_alias.as_deref(),
            team_id: m.team_id.as_deref(),
            user_id: m.user_id.as_deref(),
            cached_tokens: m.cached_tokens,
            retries: m.retries,
            fallbacks: m.fallbacks,
            tags: &m.tags,
            metadata: m.metadata.as_deref(),
            overhead_us: m.overhead_us,
            usage_source: &m.usage_source,
        }
    }
}

fn json_param<T: Serialize>(rows: &[T]) -> Result<Value, DbErr> {
    serde_json::to_string(rows)
        .map(Value::from)
        .map_err(|e| DbErr::Custom(format!("cannot encode usage rows: {e}")))
}

/// Inserts the logs; returns the request ids that were new.
pub async fn insert_logs(txn: &DatabaseTransaction, logs: &[Model]) -> Result<Vec<String>, DbErr> {
    let rows: Vec<LogRow> = logs.iter().map(LogRow::from).collect();
    let names: Vec<&str> = LOG_COLUMNS
        .split(',')
        .filter_map(|c| c.split_whitespace().next())
        .collect();
    let names = names.join(", ");
    let sql = format!(
        "INSERT INTO spend_logs ({names}) SELECT {names} \
         FROM json_to_recordset($1::text::json) AS x({LOG_COLUMNS}) \
         ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
    );
    let inserted = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [json_param(&rows)?],
        ))
        .await?;
    inserted
        .iter()
        .map(|r| r.try_get::<String>("", "request_id"))
        .collect()
}

#[derive(Serialize)]
struct DailyRow<'a> {
    day: &'a str,
    entity_kind: &'static str,
    entity_id: &'a str,
    api_key: &'a str,
    model_group: &'a str,
    spend_picos: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    requests: i64,
    successful_requests: i64,
    failed_requests: i64,
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
    let rows: Vec<DailyRow> = daily
        .iter()
        .map(|(k, s)| DailyRow {
            day: &k.day,
            entity_kind: k.kind.as_str(),
            entity_id: &k.entity_id,
            api_key: &k.api_key,
            model_group: &k.model_group,
            spend_picos: s.spend_picos,
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            requests: s.requests,
            successful_requests: s.successful_requests,
            failed_requests: s.failed_requests,
        })
        .collect();
    let sql = "INSERT INTO spend_daily (day, entity_kind, entity_id, api_key, model_group, spend_picos, \
        prompt_tokens, completion_tokens, requests, successful_requests, failed_requests) \
        SELECT * FROM json_to_recordset($1::text::json) AS x(day text, entity_kind text, \
        entity_id text, api_key text, model_group text, spend_picos bigint, prompt_tokens bigint, \
        completion_tokens bigint, requests bigint, successful_requests bigint, failed_requests bigint) \
        ORDER BY day, entity_kind, entity_id, api_key, model_group \
        ON CONFLICT (day, entity_kind, entity_id, api_key, model_group) DO UPDATE SET \
        spend_picos = spend_daily.spend_picos + excluded.spend_picos, \
        prompt_tokens = spend_daily.prompt_tokens + excluded.prompt_tokens, \
        completion_tokens = spend_daily.completion_tokens + excluded.completion_tokens, \
        requests = spend_daily.requests + excluded.requests, \
        successful_requests = spend_daily.successful_requests + excluded.successful_requests, \
        failed_requests = spend_daily.failed_requests + excluded.failed_requests";
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [json_param(&rows)?],
    ))
    .await?;
    Ok(())
}
