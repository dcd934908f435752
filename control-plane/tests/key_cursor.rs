//! The key list's keyset pages on both backends: walking forward by
//! `after` and back by `before` gives exactly the page-number (`OFFSET`)
//! pages, with keys that share a `created_at` (ordered by token) and times
//! with nanoseconds (SQLite keeps them as text, compared as text), and a
//! filter applied to both.

mod common;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use tollgate_control_plane::db::entities::virtual_key::ActiveModel;
use tollgate_control_plane::db::{self, Direction, KeyFilter, ListPosition, VirtualKeys};

async fn postgres(name: &str) -> DatabaseConnection {
    common::postgres(name, 4).await
}

fn key(i: usize, created_at: DateTime<Utc>) -> ActiveModel {
    let empty = || serde_json::json!({});
    ActiveModel {
        token: Set(format!("{:064x}", (i * 7_919) % 1_000)),
        key_name: Set(format!("sk-...{i:04}")),
        key_alias: Set(Some(format!("k-{i:03}"))),
        active_alias: Set(Some(format!("k-{i:03}"))),
        models: Set(serde_json::json!([])),
        max_budget: Set(None),
        soft_budget: Set(None),
        budget_duration: Set(None),
        expires: Set(None),
        team_id: Set(Some(["t-even", "t-odd"][i % 2].into())),
        user_id: Set(None),
        rpm_limit: Set(None),
        tpm_limit: Set(None),
        max_parallel_requests: Set(None),
        model_rpm_limit: Set(empty()),
        model_tpm_limit: Set(empty()),
        metadata: Set(empty()),
        blocked: Set(false),
        aliases: Set(empty()),
        tags: Set(serde_json::json!([])),
        spend: Set(0.0),
        created_at: Set(created_at),
        updated_at: Set(created_at),
        deleted_at: Set(None),
        spend_picos: Set(0),
        budget_reset_at: Set(None),
    }
}

/// 95 keys over 12 distinct times (runs of equal `created_at`, nanosecond
/// parts), inserted out of order.
async fn seed(keys: &VirtualKeys) {
    let base = DateTime::from_timestamp_nanos(1_764_000_000_123_456_789);
    let mut order: Vec<usize> = (0..95).collect();
    order.sort_by_key(|i| (i * 37) % 95);
    for i in order {
        let at = base + Duration::nanoseconds(i64::try_from(i / 8).unwrap_or(0) * 1_000_001_001);
        keys.insert(key(i, at)).await.expect("insert");
    }
}

async fn walk(keys: &VirtualKeys, filter: &KeyFilter, size: u64) {
    let (_, total) = keys.list(filter, 1, 1).await.expect("count");
    let pages = total.div_ceil(size);
    let offset_pages: Vec<Vec<String>> = {
        let mut out = Vec::new();
        for n in 1..=pages {
            let (rows, _) = keys.list(filter, n, size).await.expect("offset page");
            out.push(rows.into_iter().map(|r| r.token).collect());
        }
        out
    };
    // Forward: each page starts after the last key of the one before.
    let mut at: Option<ListPosition> = None;
    for want in &offset_pages {
        let from = at.as_ref().map(|p| (p, Direction::After));
        let rows = keys.next_to(filter, from, size).await.expect("after");
        let got: Vec<String> = rows.iter().map(|r| r.token.clone()).collect();
        assert_eq!(&got, want);
        // Through the cursor's text, as a client carries it.
        at = rows
            .last()
            .map(|r| ListPosition::decode(&ListPosition::of(r).encode()).expect("cursor"));
    }
    let last = at.expect("a last key");
    assert!(
        keys.next_to(filter, Some((&last, Direction::After)), size)
            .await
            .expect("past the end")
            .is_empty()
    );
    // Back: each page ends before the first key of the one after, nearest first.
    for n in (1..offset_pages.len()).rev() {
        let first = offset_pages[n][0].clone();
        let row = keys.find(&first).await.expect("find").expect("row");
        let cursor = ListPosition::decode(&ListPosition::of(&row).encode()).expect("cursor");
        let mut got: Vec<String> = keys
            .next_to(filter, Some((&cursor, Direction::Before)), size)
            .await
            .expect("before")
            .into_iter()
            .map(|r| r.token)
            .collect();
        got.reverse();
        assert_eq!(got, offset_pages[n - 1]);
    }
}

async fn pages_match_offsets(conn: DatabaseConnection) {
    let keys = VirtualKeys::new(conn);
    seed(&keys).await;
    for size in [1, 7, 10, 50] {
        walk(&keys, &KeyFilter::default(), size).await;
    }
    let odd = KeyFilter {
        team_id: Some("t-odd".into()),
        ..KeyFilter::default()
    };
    walk(&keys, &odd, 6).await;
}

#[tokio::test]
async fn sqlite_keyset_pages_equal_offset_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    pages_match_offsets(db::connect(&url, None).await.expect("sqlite")).await;
}

#[tokio::test]
async fn postgres_keyset_pages_equal_offset_pages() {
    pages_match_offsets(postgres("tollgate_test_key_cursor").await).await;
}
