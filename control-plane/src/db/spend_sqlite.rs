//! SQLite's fast path for ingest (the embedded default): a transaction's
//! logs travel as one JSON array parameter read by `jsonb_each`, in one
//! `INSERT … SELECT` — instead of SeaORM's multi-row `VALUES` lists, built
//! row by row with 35 bind parameters each, which held SQLite ingest to
//! about 8,000 records/s (docs/PERFORMANCE.md, "Usage ingest").
//!
//! Every value is stored exactly as the SeaORM path stores it — text,
//! integers, reals, booleans as 0/1, timestamps as sqlx writes them
//! (RFC 3339, `+00:00`) — so range queries and reads see no difference
//! (`tests` compares both paths column by column).

use super::entities::spend_log::Model;
use chrono::SecondsFormat;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use serde::Serialize;

/// The columns in the order each JSON row lists them.
const COLUMNS: [&str; 35] = [
    "request_id",
    "node_id",
    "call_type",
    "api_key",
    "model_group",
    "model_id",
    "provider",
    "api_base",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "status",
    "error_type",
    "http_status",
    "start_time",
    "end_time",
    "completion_start_time",
    "stream",
    "end_user",
    "received_at",
    "spend",
    "spend_picos",
    "cost_known",
    "key_alias",
    "team_id",
    "user_id",
    "cached_tokens",
    "retries",
    "fallbacks",
    "tags",
    "metadata",
    "overhead_us",
    "usage_source",
    "trace_id",
    "span_id",
];

/// One log as a JSON array, in [`COLUMNS`]' order.
#[derive(Serialize)]
struct Row<'a>(
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    i64,
    i64,
    &'a str,
    Option<&'a str>,
    i32,
    String,
    String,
    Option<String>,
    bool,
    Option<&'a str>,
    String,
    f64,
    i64,
    bool,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    i64,
    i32,
    i32,
    &'a str,
    Option<&'a str>,
    i64,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

/// How sqlx binds a `DateTime<Utc>` on SQLite.
fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn row(m: &Model) -> Row<'_> {
    Row(
        &m.request_id,
        &m.node_id,
        &m.call_type,
        &m.api_key,
        &m.model_group,
        &m.model_id,
        &m.provider,
        &m.api_base,
        m.prompt_tokens,
        m.completion_tokens,
        m.total_tokens,
        &m.status,
        m.error_type.as_deref(),
        m.http_status,
        timestamp(&m.start_time),
        timestamp(&m.end_time),
        m.completion_start_time.as_ref().map(timestamp),
        m.stream,
        m.end_user.as_deref(),
        timestamp(&m.received_at),
        // JSON has no NaN or infinity (the PostgreSQL path stores 0 too).
        if m.spend.is_finite() { m.spend } else { 0.0 },
        m.spend_picos,
        m.cost_known,
        m.key_alias.as_deref(),
        m.team_id.as_deref(),
        m.user_id.as_deref(),
        m.cached_tokens,
        m.retries,
        m.fallbacks,
        &m.tags,
        m.metadata.as_deref(),
        m.overhead_us,
        &m.usage_source,
        m.trace_id.as_deref(),
        m.span_id.as_deref(),
    )
}

/// Inserts the logs; returns the request ids that were new.
pub async fn insert_logs(txn: &DatabaseTransaction, logs: &[Model]) -> Result<Vec<String>, DbErr> {
    let rows: Vec<Row<'_>> = logs.iter().map(row).collect();
    let json = serde_json::to_string(&rows).map_err(|e| DbErr::Custom(e.to_string()))?;
    let values: Vec<String> = (0..COLUMNS.len())
        // JSON true/false come out as 1/0; strings as text, numbers as
        // integers or reals: what the bound parameters would have been.
        .map(|i| format!("value ->> {i}"))
        .collect();
    // `WHERE true`: without it SQLite would read ON CONFLICT as a join's.
    // `jsonb_each`, not `json_each`: the latter hands each row over as JSON
    // text, which every one of the 35 `->>` then parses again (a quarter of
    // SQLite's thread in `perf`); as JSONB each `->>` is a lookup. 15,400
    // → 20,800 records/s (docs/PERFORMANCE.md).
    let sql = format!(
        "INSERT INTO spend_logs ({}) SELECT {} FROM jsonb_each(?) WHERE true \
         ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
        COLUMNS.join(", "),
        values.join(", "),
    );
    let inserted = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [json.into()],
        ))
        .await?;
    inserted
        .iter()
        .map(|r| r.try_get::<String>("", "request_id"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::entities::spend_log::{ActiveModel, Entity};
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, TransactionTrait};

    fn log(id: &str, optional: bool) -> Model {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .expect("a timestamp")
        };
        Model {
            request_id: id.into(),
            node_id: "dp-1".into(),
            call_type: "acompletion".into(),
            api_key: "ab".repeat(32),
            model_group: "gpt-4o".into(),
            model_id: "dep-1".into(),
            provider: "openai".into(),
            api_base: "https://api.openai.com/v1".into(),
            prompt_tokens: 12,
            completion_tokens: 34,
            total_tokens: 46,
            status: "success".into(),
            error_type: optional.then(|| "rate_limit".into()),
            http_status: 200,
            start_time: at("2026-12-02T10:11:12.345678Z"),
            end_time: at("2026-12-02T10:11:13Z"),
            completion_start_time: optional.then(|| at("2026-12-02T10:11:12.5Z")),
            stream: optional,
            end_user: optional.then(|| "end \"user\" ✓".into()),
            received_at: at("2026-12-02T10:11:14.000001Z"),
            spend: if optional { 0.000123 } else { 2.0 },
            spend_picos: 123_000_000,
            cost_known: !optional,
            key_alias: optional.then(|| "alias".into()),
            team_id: optional.then(|| "team".into()),
            user_id: optional.then(|| "user".into()),
            cached_tokens: 5,
            retries: 1,
            fallbacks: 0,
            tags: "[\"a\",\"b\"]".into(),
            metadata: optional.then(|| "{\"k\":\"v\\n\"}".into()),
            overhead_us: 321,
            usage_source: "provider".into(),
            trace_id: optional.then(|| "0af7651916cd43dd8448eb211c80319c".into()),
            span_id: optional.then(|| "b7ad6b7169203331".into()),
        }
    }

    /// `typeof` and value of every column but the id, as SQLite holds them.
    async fn stored(db: &sea_orm::DatabaseConnection, id: &str) -> Vec<(String, String)> {
        let columns: Vec<String> = COLUMNS[1..]
            .iter()
            .map(|c| format!("typeof({c}) || ':' || coalesce(quote({c}), '')"))
            .collect();
        let sql = format!(
            "SELECT {} FROM spend_logs WHERE request_id = ?",
            columns.join(", ")
        );
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                sql,
                [id.into()],
            ))
            .await
            .expect("query")
            .expect("the row");
        (0..COLUMNS.len() - 1)
            .map(|i| {
                let v: String = row.try_get_by_index(i).expect("a value");
                (COLUMNS[i + 1].to_string(), v)
            })
            .collect()
    }

    #[tokio::test]
    async fn rows_are_stored_exactly_as_the_seaorm_path_stores_them() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = crate::db::resolve_url(None, None, dir.path());
        let db = crate::db::connect(&url, None).await.expect("SQLite");
        for optional in [false, true] {
            let by_orm = log(&format!("orm-{optional}"), optional);
            let by_json = log(&format!("json-{optional}"), optional);
            let active: ActiveModel = by_orm.clone().into_active_model();
            Entity::insert(active.reset_all())
                .exec_without_returning(&db)
                .await
                .expect("SeaORM insert");
            let txn = db.begin().await.expect("a transaction");
            let new = insert_logs(&txn, &[by_json.clone(), by_json.clone()])
                .await
                .expect("JSON insert");
            txn.commit().await.expect("commit");
            assert_eq!(
                new,
                vec![by_json.request_id.clone()],
                "a repeated id is stored once"
            );
            assert_eq!(
                stored(&db, &by_json.request_id).await,
                stored(&db, &by_orm.request_id).await
            );
            let read = Entity::find_by_id(by_json.request_id.clone())
                .one(&db)
                .await
                .expect("read")
                .expect("the row");
            assert_eq!(read, by_json, "reads back as it was written");
        }
        // A replayed record is not new.
        let txn = db.begin().await.expect("a transaction");
        let again = insert_logs(&txn, &[log("json-true", true)])
            .await
            .expect("insert");
        txn.commit().await.expect("commit");
        assert!(again.is_empty());
    }
}
