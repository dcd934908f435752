//! Overview, usage over time, latency percentiles and the CSV export — all
//! sums over `usage_hourly` and `usage_daily` (kept by ingest), never a scan
//! of the log.
//!
//! Ranges are whole UTC hours. `tz_offset` (minutes east of UTC, as the
//! browser reports it) moves bucket boundaries: hourly buckets are exact for
//! any offset that is a whole number of hours; for the rest (India, Nepal)
//! a bucket holds the UTC hours that *start* in it.

use super::UiError;
use super::guard::Authed;
use super::{bad_request, internal};
use crate::db::spend_names;
use crate::db::usage_hourly::{self, HourRange, SumRow};
use crate::spend::hourly::{Dim, HourSums, quantile_ms};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

const HOUR_FORMAT: &str = "%Y-%m-%dT%H";
pub const MAX_RANGE_DAYS: i64 = 400;

fn hour_key(t: DateTime<Utc>) -> String {
    t.format(HOUR_FORMAT).to_string()
}

fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?))
}

fn usd(picos: i64) -> f64 {
    picos as f64 / 1e12
}

#[derive(Deserialize, Default)]
pub struct SeriesQuery {
    start: Option<String>,
    end: Option<String>,
    bucket: Option<String>,
    tz_offset: Option<i32>,
    group_by: Option<String>,
    limit: Option<u64>,
    /// Only this value of the group-by dimension (a key's hash, a team id…).
    id: Option<String>,
}

struct Range {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    hours: HourRange,
}

fn range(q: &SeriesQuery, default_days: i64) -> Result<Range, UiError> {
    let now = Utc::now();
    let end = match q.end.as_deref().filter(|s| !s.is_empty()) {
        Some(t) => parse_time(t).ok_or_else(|| {
            bad_request(format!(
                "`end`: {t} is not an RFC 3339 time or a YYYY-MM-DD day."
            ))
        })?,
        None => floor_hour(now) + Duration::hours(1),
    };
    let start = match q.start.as_deref().filter(|s| !s.is_empty()) {
        Some(t) => parse_time(t).ok_or_else(|| {
            bad_request(format!(
                "`start`: {t} is not an RFC 3339 time or a YYYY-MM-DD day."
            ))
        })?,
        None => end - Duration::days(default_days),
    };
    if end <= start {
        return Err(bad_request("`end` must be after `start`."));
    }
    if end - start > Duration::days(MAX_RANGE_DAYS) {
        return Err(bad_request(format!(
            "A range may span {MAX_RANGE_DAYS} days at most."
        )));
    }
    let (start, end) = (floor_hour(start), {
        let f = floor_hour(end);
        if f == end { f } else { f + Duration::hours(1) }
    });
    Ok(Range {
        start,
        end,
        hours: HourRange {
            from: hour_key(start),
            to: hour_key(end),
        },
    })
}

fn dim(q: &SeriesQuery) -> Result<Dim, UiError> {
    match q.group_by.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(Dim::Global),
        Some(g) => Dim::parse(g).ok_or_else(|| {
            bad_request(format!(
                "`group_by`: {g} is not one of global, model, key, team, user, end_user, provider."
            ))
        }),
    }
}

/// Display names for dimension values (key aliases, team aliases), and
/// which value is the master key: it is no key row, so the page links its
/// row to its logs, not to a key page (`master` on the row).
struct Labels {
    names: HashMap<String, String>,
    master: Option<String>,
}

impl Labels {
    fn get(&self, id: &str) -> Option<&String> {
        self.names.get(id)
    }

    fn is_master(&self, id: &str) -> bool {
        self.master.as_deref() == Some(id)
    }
}

async fn labels(app: &AppState, dim: Dim, ids: &[String]) -> Labels {
    let master = match dim {
        Dim::Key => app
            .current()
            .and_then(|p| p.master_key_hash)
            .map(|h| h.to_hex()),
        _ => None,
    };
    let mut names = names(app, dim, ids).await;
    if let Some(master) = &master {
        names.insert(master.clone(), "(master key)".into());
    }
    Labels { names, master }
}

async fn names(app: &AppState, dim: Dim, ids: &[String]) -> HashMap<String, String> {
    let db = app.spend_logs.connection();
    match dim {
        Dim::Key => spend_names::keys(db, ids.to_vec())
            .await
            .map(|m| {
                m.into_iter()
                    .map(|(token, (alias, name))| (token, alias.unwrap_or(name)))
                    .collect()
            })
            .unwrap_or_default(),
        Dim::Team => spend_names::teams(db, ids.to_vec())
            .await
            .unwrap_or_default(),
        Dim::Global => [(String::new(), "All requests".to_string())].into(),
        _ => HashMap::new(),
    }
}

fn sums_json(s: &HourSums) -> Value {
    json!({
        "spend": usd(s.spend_picos),
        "spend_picos": s.spend_picos,
        "requests": s.requests,
        "errors": s.errors,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "cached_tokens": s.cached_tokens,
    })
}

struct Buckets {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    daily: bool,
    offset: Duration,
}

impl Buckets {
    fn new(r: &Range, daily: bool, offset_minutes: i32) -> Self {
        let offset = Duration::minutes(i64::from(offset_minutes));
        let mut labels = Vec::new();
        let mut index = HashMap::new();
        let mut t = r.start;
        while t < r.end {
            let label = Self::label_of(t, daily, offset);
            if !index.contains_key(&label) {
                index.insert(label.clone(), labels.len());
                labels.push(label);
            }
            t += Duration::hours(1);
        }
        Self {
            labels,
            index,
            daily,
            offset,
        }
    }

    fn label_of(utc_hour: DateTime<Utc>, daily: bool, offset: Duration) -> String {
        let local = utc_hour + offset;
        if daily {
            local.format("%Y-%m-%d").to_string()
        } else {
            local.format("%Y-%m-%dT%H:00").to_string()
        }
    }

    fn slot(&self, hour: &str) -> Option<usize> {
        let t =
            chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S")
                .ok()?;
        let label = Self::label_of(Utc.from_utc_datetime(&t), self.daily, self.offset);
        self.index.get(&label).copied()
    }
}

struct Series {
    query: SeriesQuery,
    range: Range,
    dim: Dim,
    buckets: Buckets,
    ids: Vec<String>,
    labels: Labels,
    rows: Vec<SumRow>,
    totals: HourSums,
    top_totals: Vec<SumRow>,
}

async fn series(app: &AppState, q: SeriesQuery) -> Result<Series, UiError> {
    let range = range(&q, 7)?;
    let dim = dim(&q)?;
    let daily = match q.bucket.as_deref() {
        None | Some("") | Some("day") => true,
        Some("hour") => false,
        Some(other) => {
            return Err(bad_request(format!(
                "`bucket`: {other} is not hour or day."
            )));
        }
    };
    let offset = q.tz_offset.unwrap_or(0).clamp(-14 * 60, 14 * 60);
    let db = app.spend_logs.connection();
    let limit = q.limit.unwrap_or(8).clamp(1, 50);
    let id = q.id.clone().filter(|s| !s.is_empty());
    let top_totals = if dim == Dim::Global {
        vec![SumRow {
            hour: None,
            dim_id: String::new(),
            sums: usage_hourly::totals(db, Dim::Global, &range.hours, None)
                .await
                .map_err(internal)?,
        }]
    } else {
        usage_hourly::top(db, dim, &range.hours, limit, id.as_deref())
            .await
            .map_err(internal)?
    };
    let ids: Vec<String> = top_totals.iter().map(|r| r.dim_id.clone()).collect();
    // Day rows are UTC days: they fill day buckets only at offset 0.
    let rows = usage_hourly::hours(db, dim, &range.hours, Some(&ids), daily && offset == 0)
        .await
        .map_err(internal)?;
    // The range's totals: the whole proxy's (what /global/spend adds up),
    // or the one value asked for.
    let totals = match (&id, dim) {
        (Some(id), d) if d != Dim::Global => {
            usage_hourly::totals(db, d, &range.hours, Some(id)).await
        }
        _ => usage_hourly::totals(db, Dim::Global, &range.hours, None).await,
    }
    .map_err(internal)?;
    let labels = labels(app, dim, &ids).await;
    Ok(Series {
        buckets: Buckets::new(&range, daily, offset),
        query: q,
        range,
        dim,
        ids,
        labels,
        rows,
        totals,
        top_totals,
    })
}

impl Series {
    /// Per value: one array per metric, aligned with the buckets.
    fn columns(&self) -> BTreeMap<String, [Vec<i64>; 6]> {
        let n = self.buckets.labels.len();
        let mut out: BTreeMap<String, [Vec<i64>; 6]> = self
            .ids
            .iter()
            .map(|id| (id.clone(), std::array::from_fn(|_| vec![0; n])))
            .collect();
        for row in &self.rows {
            let (Some(hour), Some(cols)) = (row.hour.as_deref(), out.get_mut(&row.dim_id)) else {
                continue;
            };
            let Some(i) = self.buckets.slot(hour) else {
                continue;
            };
            let s = &row.sums;
            for (col, v) in cols.iter_mut().zip([
                s.spend_picos,
                s.requests,
                s.errors,
                s.prompt_tokens,
                s.completion_tokens,
                s.cached_tokens,
            ]) {
                col[i] = col[i].saturating_add(v);
            }
        }
        out
    }

    fn label(&self, id: &str) -> String {
        self.labels.get(id).cloned().unwrap_or_else(|| {
            if id.is_empty() {
                "(none)".into()
            } else {
                id.to_string()
            }
        })
    }

    fn json(&self) -> Value {
        let columns = self.columns();
        let series: Vec<Value> = self
            .top_totals
            .iter()
            .filter_map(|t| {
                let c = columns.get(&t.dim_id)?;
                Some(json!({
                    "key": t.dim_id,
                    "label": self.label(&t.dim_id),
                    "master": self.labels.is_master(&t.dim_id),
                    "spend": c[0].iter().map(|p| usd(*p)).collect::<Vec<_>>(),
                    "spend_picos": c[0],
                    "requests": c[1],
                    "errors": c[2],
                    "prompt_tokens": c[3],
                    "completion_tokens": c[4],
                    "cached_tokens": c[5],
                    "totals": sums_json(&t.sums),
                }))
            })
            .collect();
        json!({
            "start": self.range.start.to_rfc3339(),
            "end": self.range.end.to_rfc3339(),
            "bucket": if self.buckets.daily { "day" } else { "hour" },
            "tz_offset": self.query.tz_offset.unwrap_or(0),
            "group_by": self.dim.as_str(),
            "buckets": self.buckets.labels,
            "series": series,
            "totals": sums_json(&self.totals),
            "max_range_days": MAX_RANGE_DAYS,
        })
    }
}

pub async fn timeseries(
    State(app): State<AppState>,
    Authed(_): Authed,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, UiError> {
    Ok(Json(series(&app, q).await?.json()).into_response())
}

fn csv_field(s: &str) -> String {
    // Quoted, and a leading formula character defused (CSV injection).
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn export_csv(
    State(app): State<AppState>,
    Authed(_): Authed,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, UiError> {
    let s = series(&app, q).await?;
    let columns = s.columns();
    let mut out = String::from(
        "bucket,group_by,id,label,spend_usd,spend_picos,requests,errors,prompt_tokens,completion_tokens,cached_tokens\n",
    );
    for t in &s.top_totals {
        let Some(c) = columns.get(&t.dim_id) else {
            continue;
        };
        for (i, bucket) in s.buckets.labels.iter().enumerate() {
            if c[1][i] == 0 && c[0][i] == 0 {
                continue;
            }
            out.push_str(&format!(
                "{},{},{},{},{:.12},{},{},{},{},{},{}\n",
                bucket,
                s.dim.as_str(),
                csv_field(&t.dim_id),
                csv_field(&s.label(&t.dim_id)),
                usd(c[0][i]),
                c[0][i],
                c[1][i],
                c[2][i],
                c[3][i],
                c[4][i],
                c[5][i]
            ));
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tollgate-usage.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

fn latency_json(s: &HourSums) -> Value {
    let q = |p| quantile_ms(&s.latency, p).map(|v| (v * 10.0).round() / 10.0);
    let avg = |sum: i64, div: f64| {
        (s.requests > 0).then(|| ((sum as f64 / s.requests as f64 / div) * 10.0).round() / 10.0)
    };
    json!({
        "count": s.requests,
        "errors": s.errors,
        "p50_ms": q(0.5),
        "p90_ms": q(0.9),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "avg_ms": avg(s.latency_ms_sum, 1.0),
        "overhead_avg_ms": avg(s.overhead_us_sum, 1000.0),
    })
}

pub async fn latency(
    State(app): State<AppState>,
    Authed(_): Authed,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, UiError> {
    let r = range(&q, 1)?;
    let dim = dim(&q)?;
    let db = app.spend_logs.connection();
    let id = q.id.as_deref().filter(|s| !s.is_empty());
    let rows = if dim == Dim::Global {
        vec![SumRow {
            hour: None,
            dim_id: String::new(),
            sums: usage_hourly::totals(db, dim, &r.hours, None)
                .await
                .map_err(internal)?,
        }]
    } else {
        usage_hourly::top(db, dim, &r.hours, q.limit.unwrap_or(20).clamp(1, 100), id)
            .await
            .map_err(internal)?
    };
    let ids: Vec<String> = rows.iter().map(|r| r.dim_id.clone()).collect();
    let names = labels(&app, dim, &ids).await;
    let out: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut v = latency_json(&row.sums);
            v["key"] = json!(row.dim_id);
            v["master"] = json!(names.is_master(&row.dim_id));
            v["label"] = json!(
                names
                    .get(&row.dim_id)
                    .cloned()
                    .unwrap_or_else(|| row.dim_id.clone())
            );
            v
        })
        .collect();
    Ok(Json(json!({
        "start": r.start.to_rfc3339(),
        "end": r.end.to_rfc3339(),
        "group_by": dim.as_str(),
        "quantiles": [0.5, 0.9, 0.95, 0.99],
        "method": "histogram",
        "rows": out,
    }))
    .into_response())
}

/// The landing page's tiles, top lists, budget alerts and fleet: one call.
pub async fn overview(State(app): State<AppState>, Authed(_): Authed) -> Result<Response, UiError> {
    let db = app.spend_logs.connection();
    let now = Utc::now();
    let next_hour = floor_hour(now) + Duration::hours(1);
    let today = Utc
        .with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0)
        .single()
        .unwrap_or(now);
    let month = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let hours = |from: DateTime<Utc>| HourRange {
        from: hour_key(from),
        to: hour_key(next_hour),
    };
    // /global/spend's window: the last 30 UTC days, today included.
    let window = hours(today - Duration::days(29));
    let last_day = hours(next_hour - Duration::hours(24));
    let total = |r: HourRange| async move { usage_hourly::totals(db, Dim::Global, &r, None).await };
    let spend_today = total(hours(today)).await.map_err(internal)?;
    let spend_month = total(hours(month)).await.map_err(internal)?;
    let spend_window = total(window).await.map_err(internal)?;
    let day = total(last_day).await.map_err(internal)?;
    let mut top = serde_json::Map::new();
    for dim in [Dim::Key, Dim::Model, Dim::Team] {
        // Month to date, from the monthly rollup: an exact top-N over a
        // sliding 30 days sums every value's rows (a million for keys at
        // scale); a calendar month's running totals are an index walk.
        let rows = usage_hourly::top_of_month(db, dim, &month.format("%Y-%m").to_string(), 5)
            .await
            .map_err(internal)?;
        let ids: Vec<String> = rows.iter().map(|r| r.dim_id.clone()).collect();
        let names = labels(&app, dim, &ids).await;
        let list: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut v = sums_json(&r.sums);
                v["key"] = json!(r.dim_id);
                v["master"] = json!(names.is_master(&r.dim_id));
                v["label"] = json!(
                    names
                        .get(&r.dim_id)
                        .cloned()
                        .unwrap_or_else(|| r.dim_id.clone())
                );
                v
            })
            .collect();
        top.insert(dim.as_str().to_string(), Value::Array(list));
    }
    let alerts = crate::db::budget_alerts::near_budget(db, 10)
        .await
        .map_err(internal)?;
    let status = app.status();
    let connected = status.data_planes.iter().filter(|d| d.connected).count();
    let in_sync = status
        .data_planes
        .iter()
        .filter(|d| d.connected && d.in_sync)
        .count();
    let max_budget = app.current().and_then(|p| p.max_budget);
    Ok(Json(json!({
        "now": now.to_rfc3339(),
        "spend_today": sums_json(&spend_today),
        "spend_month": sums_json(&spend_month),
        "spend_30d": sums_json(&spend_window),
        "last_24h": latency_json(&day),
        "max_budget": max_budget,
        "top": top,
        "budget_alerts": alerts,
        "fleet": {
            "snapshot_version": status.snapshot.as_ref().map(|s| s.version),
            "data_planes": status.data_planes.len(),
            "connected": connected,
            "in_sync": in_sync,
        },
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_buckets_move_with_the_offset_and_days_group_them() {
        let q = SeriesQuery {
            start: Some("2026-11-01T00:00:00Z".into()),
            end: Some("2026-11-03T00:00:00Z".into()),
            ..SeriesQuery::default()
        };
        let r = range(&q, 7).expect("range");
        let days = Buckets::new(&r, true, 0);
        assert_eq!(days.labels, ["2026-11-01", "2026-11-02"]);
        assert_eq!(days.slot("2026-11-02T23"), Some(1));
        let paris = Buckets::new(&r, true, 60);
        assert_eq!(paris.labels, ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(paris.slot("2026-11-02T23"), Some(2));
        let hours = Buckets::new(&r, false, 0);
        assert_eq!(hours.labels.len(), 48);
    }

    #[test]
    fn a_range_is_whole_hours_and_bounded() {
        let q = SeriesQuery {
            start: Some("2026-11-01T10:30:00Z".into()),
            end: Some("2026-11-01T12:10:00Z".into()),
            ..SeriesQuery::default()
        };
        let r = range(&q, 7).expect("range");
        assert_eq!(
            (r.hours.from.as_str(), r.hours.to.as_str()),
            ("2026-11-01T10", "2026-11-01T13")
        );
        let q = SeriesQuery {
            start: Some("2020-01-01".into()),
            end: Some("2026-01-01".into()),
            ..SeriesQuery::default()
        };
        assert!(range(&q, 7).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
    }
}
