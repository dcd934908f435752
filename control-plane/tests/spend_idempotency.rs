//! A usage batch delivered twice (stored, ack lost, resent) is counted once:
//! in the spend log and in the key's running total.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use tollgate_control_plane::db::entities::{spend_log, virtual_key};
use tollgate_control_plane::db::{self, SpendLogs};

fn record(id: &str, key: &str, picos: i64) -> spend_log::Model {
    let now = Utc::now();
    spend_log::Model {
        request_id: id.to_string(),
        node_id: "dp".into(),
        call_type: "acompletion".into(),
        api_key: key.to_string(),
        model_group: "m".into(),
        model_id: "d".into(),
        provider: "openai".into(),
        api_base: String::new(),
        prompt_tokens: 1,
        completion_tokens: 1,
        total_tokens: 2,
        status: "success".into(),
        error_type: None,
        http_status: 200,
        start_time: now,
        end_time: now,
        completion_start_time: None,
        stream: false,
        end_user: None,
        received_at: now,
        spend: picos as f64 / 1e12,
        spend_picos: picos,
        cost_known: true,
        key_alias: None,
        team_id: None,
        user_id: None,
        cached_tokens: 0,
        retries: 0,
        fallbacks: 0,
        tags: "[]".into(),
        metadata: None,
        overhead_us: 0,
        usage_source: String::new(),
        trace_id: None,
        span_id: None,
    }
}

#[tokio::test]
async fn a_replayed_batch_adds_spend_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let conn = db::connect(&url, None).await.expect("database");
    let token = "a".repeat(64);
    let now = Utc::now();
    virtual_key::Entity::insert(virtual_key::ActiveModel {
        token: Set(token.clone()),
        key_name: Set("sk-...aaaa".into()),
        key_alias: Set(None),
        active_alias: Set(None),
        models: Set(serde_json::json!([])),
        max_budget: Set(None),
        soft_budget: Set(None),
        budget_duration: Set(None),
        expires: Set(None),
        team_id: Set(None),
        user_id: Set(None),
        rpm_limit: Set(None),
        tpm_limit: Set(None),
        max_parallel_requests: Set(None),
        model_rpm_limit: Set(serde_json::json!({})),
        model_tpm_limit: Set(serde_json::json!({})),
        metadata: Set(serde_json::json!({})),
        blocked: Set(false),
        aliases: Set(serde_json::json!({})),
        tags: Set(serde_json::json!([])),
        spend: Set(0.0),
        spend_picos: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    })
    .exec_without_returning(&conn)
    .await
    .expect("key");
    let logs = SpendLogs::new(conn.clone());
    let batch = || vec![record("r1", &token, 1_500), record("r2", &token, 2_500)];

    assert_eq!(logs.insert_batch(batch()).await.expect("first delivery"), 2);
    assert_eq!(logs.insert_batch(batch()).await.expect("replay"), 0);
    // A replay overlapping with new records counts only the new one.
    let mut mixed = batch();
    mixed.push(record("r3", &token, 7));
    assert_eq!(logs.insert_batch(mixed).await.expect("mixed"), 1);

    assert_eq!(logs.count().await.expect("count"), 3);
    let key = virtual_key::Entity::find_by_id(token)
        .one(&conn)
        .await
        .expect("query")
        .expect("key row");
    assert_eq!(key.spend_picos, 4_007);
    assert_eq!(key.spend, 4_007.0 / 1e12);
}
