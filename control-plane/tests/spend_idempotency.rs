//! A usage batch delivered twice (stored, ack lost, resent) is counted once:
//! in the spend log and in the key's running total.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use tollgate_control_plane::db::entities::{spend_log, virtual_key};
use tollgate_control_plane::db::{self, SpendLogs};

fn record(id: &str, key: &str, picos: i64) -> spend_log::ActiveModel {
    let now = Utc::now();
    spend_log::ActiveModel {
        request_id: Set(id.to_string()),
        node_id: Set("dp".into()),
        call_type: Set("acompletion".into()),
        api_key: Set(key.to_string()),
        model_group: Set("m".into()),
        model_id: Set("d".into()),
        provider: Set("openai".into()),
        api_base: Set(String::new()),
        prompt_tokens: Set(1),
        completion_tokens: Set(1),
        total_tokens: Set(2),
        status: Set("success".into()),
        error_type: Set(None),
        http_status: Set(200),
        start_time: Set(now),
        end_time: Set(now),
        completion_start_time: Set(None),
        stream: Set(false),
        end_user: Set(None),
        received_at: Set(now),
        spend: Set(picos as f64 / 1e12),
        spend_picos: Set(picos),
        cost_known: Set(true),
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
