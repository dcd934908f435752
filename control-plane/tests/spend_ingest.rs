//! Usage ingest on both backends: a record delivered twice counts once, and
//! every aggregate (daily rows, key/team/user/end-user totals) equals the sum
//! of the stored logs. Concurrent batches touching the same keys in
//! different orders neither deadlock nor lose spend.

mod common;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use common::sqlite;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::collections::BTreeMap;
use tollgate_control_plane::db::SpendLogs;
use tollgate_control_plane::db::entities::spend_log;

fn log(id: usize, day: DateTime<Utc>) -> spend_log::Model {
    let keys = ["a".repeat(64), "b".repeat(64), String::new()];
    let key = keys[id % 3].clone();
    let start = day + Duration::seconds(i64::try_from(id).unwrap_or(0));
    let prompt = 10 + i64::try_from(id % 7).unwrap_or(0);
    let completion = 3 + i64::try_from(id % 5).unwrap_or(0);
    let picos = 1_000_003 * i64::try_from(id).unwrap_or(0) + 17;
    spend_log::Model {
        request_id: format!("req-{id}"),
        node_id: "dp-1".into(),
        call_type: "acompletion".into(),
        api_key: key,
        model_group: ["gpt-4o", "claude"][id % 2].into(),
        model_id: "d1".into(),
        provider: "openai".into(),
        api_base: String::new(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        status: if id.is_multiple_of(11) {
            "failure"
        } else {
            "success"
        }
        .into(),
        error_type: None,
        http_status: 200,
        start_time: start,
        end_time: start,
        completion_start_time: None,
        stream: id.is_multiple_of(2),
        end_user: (!id.is_multiple_of(4)).then(|| format!("end-{}", id % 3)),
        received_at: start,
        spend: picos as f64 / 1e12,
        spend_picos: picos,
        cost_known: true,
        key_alias: None,
        // "team-x" and "user-x" have no rows: nothing to update, no error.
        team_id: Some(["team-1", "team-x"][id % 2].into()),
        user_id: (id % 3 != 2).then(|| ["user-1", "user-x"][id % 2].to_string()),
        cached_tokens: 0,
        retries: 0,
        fallbacks: 0,
        tags: r#"["a,b","c\"d"]"#.into(),
        // Quotes, backslashes, braces, commas and non-ASCII survive the
        // bulk path's array literals.
        metadata: id
            .is_multiple_of(5)
            .then(|| format!(r#"{{"note":"q\"uote {{b}}, \\ é {id}"}}"#)),
        overhead_us: 0,
        usage_source: "provider".into(),
        trace_id: None,
        span_id: None,
    }
}

async fn postgres(name: &str) -> DatabaseConnection {
    common::postgres(name, 8).await
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql).await.expect(sql);
}

async fn seed(conn: &DatabaseConnection) {
    for token in ["a".repeat(64), "b".repeat(64)] {
        exec(
            conn,
            &format!(
                "INSERT INTO virtual_keys (token, key_name, models, model_rpm_limit, model_tpm_limit, \
                 metadata, blocked, aliases, tags, spend, spend_picos, created_at, updated_at) \
                 VALUES ('{token}', 'sk-...{}', '[]', '{{}}', '{{}}', '{{}}', false, '{{}}', '[]', 0, 0, \
                 CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                &token[..4]
            ),
        )
        .await;
    }
    exec(
        conn,
        "INSERT INTO teams (team_id, team_alias, models, model_rpm_limit, model_tpm_limit, metadata, \
         blocked, spend_picos, created_at, updated_at) VALUES ('team-1', 'Team One', '[]', '{}', '{}', \
         '{}', false, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await;
    exec(
        conn,
        "INSERT INTO users (user_id, user_role, models, model_rpm_limit, model_tpm_limit, metadata, \
         spend_picos, created_at, updated_at) VALUES ('user-1', 'internal_user', '[]', '{}', '{}', '{}', \
         0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await;
}

async fn scalar(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect(sql)
        .expect("one row");
    row.try_get_by_index::<Option<i64>>(0)
        .expect("integer")
        .unwrap_or(0)
}

/// (kind, entity, api_key, model, day) → (spend, prompt, completion, requests, ok, failed)
type Daily = BTreeMap<(String, String, String, String, String), [i64; 6]>;

async fn daily_rows(conn: &DatabaseConnection) -> Daily {
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT entity_kind, entity_id, api_key, model_group, day, spend_picos, prompt_tokens, \
             completion_tokens, requests, successful_requests, failed_requests FROM spend_daily",
        ))
        .await
        .expect("spend_daily");
    rows.into_iter()
        .map(|r| {
            let s = |i: usize| r.try_get_by_index::<String>(i).expect("text");
            let n = |i: usize| r.try_get_by_index::<i64>(i).expect("int");
            (
                (s(0), s(1), s(2), s(3), s(4)),
                [n(5), n(6), n(7), n(8), n(9), n(10)],
            )
        })
        .collect()
}

/// The aggregates recomputed from the logs themselves, independently of the
/// ingest code.
fn expected_daily(logs: &[spend_log::Model]) -> Daily {
    let mut out = Daily::new();
    for l in logs {
        let day = l.start_time.format("%Y-%m-%d").to_string();
        let ok = l.status == "success";
        let v = [
            l.spend_picos,
            l.prompt_tokens,
            l.completion_tokens,
            1,
            i64::from(ok),
            i64::from(!ok),
        ];
        let key = l.api_key.clone();
        let mut entities = vec![
            ("global".to_string(), String::new(), String::new()),
            ("model".to_string(), l.model_group.clone(), String::new()),
        ];
        if !key.is_empty() {
            entities.push(("key".into(), key.clone(), key.clone()));
        }
        if let Some(t) = &l.team_id {
            entities.push(("team".into(), t.clone(), key.clone()));
        }
        if let Some(u) = &l.user_id {
            entities.push(("user".into(), u.clone(), String::new()));
        }
        if let Some(e) = &l.end_user {
            entities.push(("end_user".into(), e.clone(), String::new()));
        }
        for (kind, id, api_key) in entities {
            let slot = out
                .entry((kind, id, api_key, l.model_group.clone(), day.clone()))
                .or_insert([0; 6]);
            for (s, x) in slot.iter_mut().zip(v) {
                *s += x;
            }
        }
    }
    out
}

async fn check_totals(conn: &DatabaseConnection, logs: &[spend_log::Model]) {
    let sum = |f: &dyn Fn(&spend_log::Model) -> bool| -> i64 {
        logs.iter().filter(|l| f(l)).map(|l| l.spend_picos).sum()
    };
    let a = "a".repeat(64);
    assert_eq!(
        scalar(
            conn,
            &format!("SELECT spend_picos FROM virtual_keys WHERE token = '{a}'")
        )
        .await,
        sum(&|l| l.api_key == a)
    );
    assert_eq!(
        scalar(
            conn,
            "SELECT spend_picos FROM teams WHERE team_id = 'team-1'"
        )
        .await,
        sum(&|l| l.team_id.as_deref() == Some("team-1"))
    );
    assert_eq!(
        scalar(
            conn,
            "SELECT spend_picos FROM users WHERE user_id = 'user-1'"
        )
        .await,
        sum(&|l| l.user_id.as_deref() == Some("user-1"))
    );
    for e in ["end-0", "end-1", "end-2"] {
        assert_eq!(
            scalar(
                conn,
                &format!("SELECT spend_picos FROM customers WHERE user_id = '{e}'")
            )
            .await,
            sum(&|l| l.end_user.as_deref() == Some(e)),
            "customer {e} (created on first use)"
        );
    }
    // Unknown team and user: no row was created for them.
    assert_eq!(scalar(conn, "SELECT COUNT(*) FROM teams").await, 1);
    assert_eq!(scalar(conn, "SELECT COUNT(*) FROM users").await, 1);
    // Text survives the round trip byte for byte.
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT request_id, metadata, tags FROM spend_logs",
        ))
        .await
        .expect("logs");
    assert_eq!(rows.len(), logs.len());
    for row in rows {
        let id: String = row.try_get_by_index(0).expect("id");
        let original = logs.iter().find(|l| l.request_id == id).expect("known id");
        assert_eq!(
            row.try_get_by_index::<Option<String>>(1).expect("metadata"),
            original.metadata
        );
        assert_eq!(
            row.try_get_by_index::<String>(2).expect("tags"),
            original.tags
        );
    }
    // The stored logs are exactly the unique records.
    assert_eq!(
        scalar(conn, "SELECT COUNT(*) FROM spend_logs").await,
        i64::try_from(logs.len()).unwrap_or(0)
    );
    assert_eq!(
        scalar(
            conn,
            "SELECT CAST(SUM(spend_picos) AS BIGINT) FROM spend_logs"
        )
        .await,
        sum(&|_| true)
    );
    assert_eq!(daily_rows(conn).await, expected_daily(logs));
    check_usage_daily(conn, logs).await;
}

/// (dim, day, dim_id) → (requests, errors, spend, prompt, completion)
type Usage = BTreeMap<(String, String, String), [i64; 5]>;

async fn usage_rows(conn: &DatabaseConnection, sql: &str) -> Usage {
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect(sql);
    rows.into_iter()
        .map(|r| {
            let s = |i: usize| r.try_get_by_index::<String>(i).expect("text");
            let n = |i: usize| r.try_get_by_index::<i64>(i).expect("int");
            ((s(0), s(1), s(2)), [n(3), n(4), n(5), n(6), n(7)])
        })
        .collect()
}

/// `usage_daily` equals the logs summed per UTC day (recomputed here, not
/// by the ingest code), and the dashboard's range reads over day rows plus
/// hourly edges give the raw rows' totals.
async fn check_usage_daily(conn: &DatabaseConnection, logs: &[spend_log::Model]) {
    use tollgate_control_plane::db::usage_hourly::{self, HourRange};
    use tollgate_control_plane::spend::hourly::Dim;
    let mut expected = Usage::new();
    for l in logs {
        let day = l.start_time.format("%Y-%m-%d").to_string();
        let v = [
            1,
            i64::from(l.status != "success"),
            l.spend_picos,
            l.prompt_tokens,
            l.completion_tokens,
        ];
        let mut dims = vec![
            ("global", String::new()),
            ("model", l.model_group.clone()),
            ("provider", l.provider.clone()),
        ];
        if !l.api_key.is_empty() {
            dims.push(("key", l.api_key.clone()));
        }
        for (dim, id) in [
            ("team", &l.team_id),
            ("user", &l.user_id),
            ("end_user", &l.end_user),
        ] {
            if let Some(id) = id.as_ref().filter(|s| !s.is_empty()) {
                dims.push((dim, id.clone()));
            }
        }
        for (dim, id) in dims {
            let slot = expected
                .entry((dim.to_string(), day.clone(), id))
                .or_insert([0; 5]);
            for (s, x) in slot.iter_mut().zip(v) {
                *s += x;
            }
        }
    }
    let daily = usage_rows(
        conn,
        "SELECT dim, day, dim_id, requests, errors, spend_picos, prompt_tokens, \
         completion_tokens FROM usage_daily",
    )
    .await;
    assert_eq!(daily, expected);
    let hourly_by_day = usage_rows(
        conn,
        "SELECT dim, substr(hour, 1, 10), dim_id, CAST(SUM(requests) AS BIGINT), \
         CAST(SUM(errors) AS BIGINT), CAST(SUM(spend_picos) AS BIGINT), \
         CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT) \
         FROM usage_hourly GROUP BY dim, substr(hour, 1, 10), dim_id",
    )
    .await;
    assert_eq!(hourly_by_day, expected);
    let mut by_month = Usage::new();
    for ((dim, day, id), v) in &expected {
        let slot = by_month
            .entry((dim.clone(), day[..7].to_string(), id.clone()))
            .or_insert([0; 5]);
        for (s, x) in slot.iter_mut().zip(v) {
            *s += x;
        }
    }
    let monthly = usage_rows(
        conn,
        "SELECT dim, month, dim_id, requests, errors, spend_picos, prompt_tokens, \
         completion_tokens FROM usage_monthly",
    )
    .await;
    assert_eq!(monthly, by_month);
    // The ranking tables: the same rows' spend and requests.
    let ranking = |usage: &Usage| -> BTreeMap<(String, String, String), [i64; 2]> {
        usage
            .iter()
            .map(|(k, v)| (k.clone(), [v[2], v[0]]))
            .collect()
    };
    for (sql, expected) in [
        (
            "SELECT dim, day, dim_id, spend_picos, requests FROM usage_rank_daily",
            ranking(&expected),
        ),
        (
            "SELECT dim, month, dim_id, spend_picos, requests FROM usage_rank_monthly",
            ranking(&by_month),
        ),
    ] {
        let rows = conn
            .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .expect(sql);
        let got: BTreeMap<(String, String, String), [i64; 2]> = rows
            .into_iter()
            .map(|r| {
                let s = |i: usize| r.try_get_by_index::<String>(i).expect("text");
                let n = |i: usize| r.try_get_by_index::<i64>(i).expect("int");
                ((s(0), s(1), s(2)), [n(3), n(4)])
            })
            .collect();
        assert_eq!(got, expected, "{sql}");
    }
    // A range of whole days with partial edge days on both sides (the logs
    // straddle midnight), and one that cuts the last day's first hour off.
    let sum = |f: &dyn Fn(&spend_log::Model) -> bool| -> i64 {
        logs.iter().filter(|l| f(l)).map(|l| l.spend_picos).sum()
    };
    let wide = HourRange {
        from: "2026-02-25T05".into(),
        to: "2026-03-20T07".into(),
    };
    let total = usage_hourly::totals(conn, Dim::Global, &wide, None)
        .await
        .expect("totals");
    assert_eq!(total.spend_picos, sum(&|_| true));
    assert_eq!(total.requests, i64::try_from(logs.len()).unwrap_or(0));
    let cut = HourRange {
        from: "2026-02-25T05".into(),
        to: "2026-03-05T07".into(),
    };
    let before = |l: &spend_log::Model| {
        l.start_time
            < Utc
                .with_ymd_and_hms(2026, 3, 5, 7, 0, 0)
                .single()
                .expect("time")
    };
    let total = usage_hourly::totals(conn, Dim::Global, &cut, None)
        .await
        .expect("totals");
    assert_eq!(total.spend_picos, sum(&before));
    let top = usage_hourly::top(conn, Dim::Key, &wide, 5, None)
        .await
        .expect("top");
    let mut keys: BTreeMap<String, i64> = BTreeMap::new();
    for l in logs.iter().filter(|l| !l.api_key.is_empty()) {
        *keys.entry(l.api_key.clone()).or_insert(0) += l.spend_picos;
    }
    let mut want: Vec<(String, i64)> = keys.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let got: Vec<(String, i64)> = top
        .into_iter()
        .map(|r| (r.dim_id, r.sums.spend_picos))
        .collect();
    assert_eq!(got, want);
    // March's top keys from the monthly rollup: the same order and sums.
    let march = usage_hourly::top_of_month(conn, Dim::Key, "2026-03", 5)
        .await
        .expect("top of month");
    let got: Vec<(String, i64)> = march
        .into_iter()
        .map(|r| (r.dim_id, r.sums.spend_picos))
        .collect();
    assert_eq!(got, want);
}

/// A log's value of a dimension.
type ValueOf = dyn Fn(&spend_log::Model) -> Option<String>;

/// What the dashboard's range reads must give: the logs in [from, to)
/// summed directly.
fn in_range<'a>(
    logs: &'a [spend_log::Model],
    range: &tollgate_control_plane::db::usage_hourly::HourRange,
) -> impl Iterator<Item = &'a spend_log::Model> {
    let hour = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H").to_string();
    let (from, to) = (range.from.clone(), range.to.clone());
    logs.iter().filter(move |l| {
        let h = hour(l.start_time);
        h >= from && h < to
    })
}

/// (dim_id, spend, requests), most spend first, as the top lists order.
fn expected_top(
    logs: &[spend_log::Model],
    range: &tollgate_control_plane::db::usage_hourly::HourRange,
    id: impl Fn(&spend_log::Model) -> Option<String>,
    limit: usize,
) -> Vec<(String, i64, i64)> {
    let mut per: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for l in in_range(logs, range) {
        if let Some(v) = id(l).filter(|v| !v.is_empty()) {
            let slot = per.entry(v).or_insert((0, 0));
            slot.0 += l.spend_picos;
            slot.1 += 1;
        }
    }
    let mut out: Vec<(String, i64, i64)> = per.into_iter().map(|(k, (s, r))| (k, s, r)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

/// Ranges of every shape — whole months, month to date, the last 30 days,
/// spans over two month ends, ranges that leave most of a month out, and
/// short ones — read through day, month and signed month parts: totals and
/// top lists equal the logs summed directly, and the 30 UTC days ending
/// today equal `/global/spend`.
async fn check_ranges(conn: &DatabaseConnection, logs: &[spend_log::Model]) {
    use tollgate_control_plane::db::usage_hourly::{self, HourRange};
    use tollgate_control_plane::spend::hourly::Dim;
    let hour = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H").to_string();
    let now = Utc::now();
    let next_hour = hour(now + Duration::hours(1));
    let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let month = today - Duration::days(i64::from(now.day0()));
    let r = |from: &str, to: &str| HourRange {
        from: from.into(),
        to: to.into(),
    };
    let ranges = [
        r("2026-02-01T00", "2026-03-01T00"),
        r("2026-01-01T00", "2026-04-01T00"),
        r("2026-02-03T00", "2026-03-01T00"),
        r("2026-02-03T05", "2026-03-04T07"),
        r("2026-01-29T05", "2026-03-02T19"),
        r("2026-03-03T00", "2026-04-01T00"),
        r("2026-02-27T10", "2026-03-01T10"),
        r(&hour(month), &next_hour),
        r(&hour(today - Duration::days(29)), &next_hour),
        r(
            &hour(today - Duration::days(45)),
            &hour(today - Duration::days(3)),
        ),
    ];
    for range in &ranges {
        let want: Vec<&spend_log::Model> = in_range(logs, range).collect();
        let total = usage_hourly::totals(conn, Dim::Global, range, None)
            .await
            .expect("totals");
        assert_eq!(
            (total.requests, total.spend_picos, total.errors),
            (
                i64::try_from(want.len()).unwrap_or(0),
                want.iter().map(|l| l.spend_picos).sum::<i64>(),
                i64::try_from(want.iter().filter(|l| l.status != "success").count()).unwrap_or(0),
            ),
            "{range:?}"
        );
        assert_eq!(
            (total.prompt_tokens, total.completion_tokens),
            (
                want.iter().map(|l| l.prompt_tokens).sum::<i64>(),
                want.iter().map(|l| l.completion_tokens).sum::<i64>(),
            ),
            "{range:?}"
        );
        let key_a = "a".repeat(64);
        let one = usage_hourly::totals(conn, Dim::Key, range, Some(&key_a))
            .await
            .expect("one key");
        assert_eq!(
            one.spend_picos,
            want.iter()
                .filter(|l| l.api_key == key_a)
                .map(|l| l.spend_picos)
                .sum::<i64>(),
            "{range:?}"
        );
        let dims: [(Dim, &ValueOf); 3] = [
            (Dim::Key, &|l| Some(l.api_key.clone())),
            (Dim::Model, &|l| Some(l.model_group.clone())),
            (Dim::EndUser, &|l| l.end_user.clone()),
        ];
        for (dim, id) in dims {
            for limit in [1, 5] {
                let got: Vec<(String, i64, i64)> = usage_hourly::top(conn, dim, range, limit, None)
                    .await
                    .expect("top")
                    .into_iter()
                    .map(|r| (r.dim_id, r.sums.spend_picos, r.sums.requests))
                    .collect();
                let limit = usize::try_from(limit).unwrap_or(0);
                assert_eq!(
                    got,
                    expected_top(logs, range, id, limit),
                    "{dim:?} {range:?}"
                );
            }
        }
    }
    // /global/spend's window: the 30 UTC days ending today, whole.
    let window = r(
        &hour(today - Duration::days(29)),
        &hour(today + Duration::days(1)),
    );
    let total = usage_hourly::totals(conn, Dim::Global, &window, None)
        .await
        .expect("window");
    let global = tollgate_control_plane::spend::SpendQueries::new(SpendLogs::new(conn.clone()))
        .global(0.0)
        .await
        .expect("/global/spend");
    assert_eq!(total.spend_picos, global.spend_picos);
    assert!(total.spend_picos > 0, "the window holds logs");
}

/// Logs 13 hours apart from late January to April, and around today (some
/// in the next days: a data plane's clock ahead), 1,400 logs of 700 keys in
/// February and March, 1,202 more whose top over both months is no
/// month's top, plus one model seen only on March 1st (outside ranges that
/// subtract it from March's row).
async fn ranges_match_logs(conn: DatabaseConnection) {
    seed(&conn).await;
    let logs = SpendLogs::new(conn.clone());
    let base = Utc
        .with_ymd_and_hms(2026, 1, 25, 3, 30, 0)
        .single()
        .expect("day");
    let recent = Utc::now() - Duration::days(50);
    let mut all: Vec<spend_log::Model> = (0..160)
        .map(|i| {
            log(
                i,
                base + Duration::hours(13 * i64::try_from(i).unwrap_or(0)),
            )
        })
        .chain((160..260).map(|i| {
            log(
                i,
                recent + Duration::hours(13 * i64::try_from(i - 160).unwrap_or(0)),
            )
        }))
        .collect();
    // 700 keys over February and March, spend spread unevenly.
    let feb = Utc
        .with_ymd_and_hms(2026, 2, 1, 0, 10, 0)
        .single()
        .expect("day");
    all.extend((1_000..2_400).map(|i| {
        let n = i64::try_from(i).unwrap_or(0);
        let mut l = log(i, feb + Duration::minutes(59 * (n - 1_000)));
        l.api_key = format!("{:064x}", (n * 7_919) % 700);
        l.spend_picos = (n * 104_729) % 1_000_003 * 1_000;
        l
    }));
    // 600 keys with one big request in February, 600 in March, and one key
    // with less in each month but the most over both: it ranks 601st in
    // each month's list, first over both (no month's own top finds it).
    let big = 5_000_000_000i64;
    for (month, offset) in [(2u32, 0usize), (3, 600)] {
        let at = Utc
            .with_ymd_and_hms(2026, month, 10, 12, 0, 0)
            .single()
            .expect("day");
        for k in 0..600usize {
            let mut l = log(3_000 + offset + k, at);
            l.api_key = format!("c{:063x}", offset + k);
            l.spend_picos = big + i64::try_from(k).unwrap_or(0);
            all.push(l);
        }
        let mut l = log(5_000 + offset, at);
        l.api_key = format!("d{:063x}", 0);
        l.spend_picos = big * 6 / 10;
        all.push(l);
    }
    let mut rare = log(
        999,
        Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0)
            .single()
            .expect("day"),
    );
    rare.model_group = "rare".into();
    rare.spend_picos = 9_000_000_000;
    all.push(rare);
    for chunk in all.chunks(50) {
        logs.insert_batch(chunk.to_vec()).await.expect("batch");
    }
    check_ranges(&conn, &all).await;
}

#[tokio::test]
async fn sqlite_range_reads_over_month_rows_equal_the_logs() {
    let (conn, _dir) = sqlite().await;
    ranges_match_logs(conn).await;
}

#[tokio::test]
async fn postgres_range_reads_over_month_rows_equal_the_logs() {
    ranges_match_logs(postgres("tollgate_test_spend_ingest_ranges").await).await;
}

async fn replay_counts_once(conn: DatabaseConnection) {
    seed(&conn).await;
    let logs = SpendLogs::new(conn.clone());
    let day1 = Utc
        .with_ymd_and_hms(2026, 3, 1, 23, 59, 0)
        .single()
        .expect("day");
    let all: Vec<spend_log::Model> = (0..60).map(|i| log(i, day1)).collect();
    let first: Vec<_> = all[..40].to_vec();

    assert_eq!(logs.insert_batch(first.clone()).await.expect("first"), 40);
    assert_eq!(logs.insert_batch(first.clone()).await.expect("replay"), 0);
    check_totals(&conn, &all[..40]).await;

    // Overlap with the first batch, plus a record repeated inside the batch.
    let mut mixed: Vec<_> = all[30..].to_vec();
    mixed.push(all[55].clone());
    assert_eq!(logs.insert_batch(mixed).await.expect("mixed"), 20);
    check_totals(&conn, &all).await;
}

/// Logs five hours apart over twelve days, ingested in three batches.
async fn daily_rollup_matches_logs(conn: DatabaseConnection) {
    seed(&conn).await;
    let logs = SpendLogs::new(conn.clone());
    let base = Utc
        .with_ymd_and_hms(2026, 3, 1, 3, 30, 0)
        .single()
        .expect("day");
    let all: Vec<spend_log::Model> = (0..60)
        .map(|i| log(i, base + Duration::hours(5 * i64::try_from(i).unwrap_or(0))))
        .collect();
    for chunk in all.chunks(20) {
        assert_eq!(logs.insert_batch(chunk.to_vec()).await.expect("batch"), 20);
    }
    check_usage_daily(&conn, &all).await;
}

#[tokio::test]
async fn sqlite_daily_rollup_sums_equal_the_logs() {
    let (conn, _dir) = sqlite().await;
    daily_rollup_matches_logs(conn).await;
}

#[tokio::test]
async fn postgres_daily_rollup_sums_equal_the_logs() {
    daily_rollup_matches_logs(postgres("tollgate_test_spend_ingest_daily").await).await;
}

#[tokio::test]
async fn sqlite_replayed_batches_count_once_and_aggregates_match_logs() {
    let (conn, _dir) = sqlite().await;
    replay_counts_once(conn).await;
}

#[tokio::test]
async fn postgres_replayed_batches_count_once_and_aggregates_match_logs() {
    replay_counts_once(postgres("tollgate_test_spend_ingest_replay").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_batches_neither_deadlock_nor_lose_spend() {
    let conn = postgres("tollgate_test_spend_ingest_concurrent").await;
    seed(&conn).await;
    let logs = SpendLogs::new(conn.clone());
    let day = Utc
        .with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
        .single()
        .expect("day");
    let all: Vec<spend_log::Model> = (0..2_000).map(|i| log(i, day)).collect();
    // Eight "data planes", each sending overlapping slices (so replays race
    // with first deliveries) touching the same keys, teams and days.
    let mut tasks = Vec::new();
    for plane in 0..8 {
        let logs = logs.clone();
        let mut mine: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 8 == plane || i % 8 == (plane + 1) % 8)
            .map(|(_, l)| l.clone())
            .collect();
        if plane % 2 == 1 {
            mine.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let mut stored = 0;
            for batch in mine.chunks(50) {
                stored += logs.insert_batch(batch.to_vec()).await.expect("batch");
            }
            stored
        }));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await.expect("task");
    }
    assert_eq!(stored, 2_000, "each record counted exactly once");
    check_totals(&conn, &all).await;
}
