//! Logs: one page per request (keyset pagination, filters), each row
//! carrying everything its detail drawer shows; and the live tail, one
//! server-sent-events stream of newly ingested rows.

use super::UiError;
use super::guard::Authed;
use super::{bad_request, internal};
use crate::db::log_page::{self, LogQuery};
use crate::spend::convert::log_to_proto;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use tollgate_proto::spend_json::log_json;

pub const MAX_PAGE: u64 = 100;
/// Rows one tail event batch carries at most; the rest are counted as
/// dropped (the table, not the tail, is the place to read a flood).
const TAIL_BURST: usize = 50;

#[derive(Deserialize, Default)]
pub struct LogParams {
    start: Option<String>,
    end: Option<String>,
    /// A key's hash (64 hex) or its alias.
    key: Option<String>,
    team_id: Option<String>,
    user_id: Option<String>,
    end_user: Option<String>,
    model: Option<String>,
    status: Option<String>,
    error_type: Option<String>,
    request_id: Option<String>,
    /// `<start_time RFC 3339>~<request_id>` of the previous page's last row.
    cursor: Option<String>,
    limit: Option<u64>,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn time(name: &str, v: Option<String>) -> Result<Option<DateTime<Utc>>, UiError> {
    match given(v) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(&t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| bad_request(format!("`{name}`: {t} is not an RFC 3339 time."))),
    }
}

fn query(p: LogParams) -> Result<LogQuery, UiError> {
    let key = given(p.key);
    let is_hash = key
        .as_deref()
        .is_some_and(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()));
    let after = match given(p.cursor) {
        None => None,
        Some(c) => {
            let (t, id) = c
                .split_once('~')
                .ok_or_else(|| bad_request("`cursor` is not one this API gave."))?;
            let t = DateTime::parse_from_rfc3339(t)
                .map_err(|_| bad_request("`cursor` is not one this API gave."))?;
            Some((t.with_timezone(&Utc), id.to_string()))
        }
    };
    let status = given(p.status);
    if let Some(s) = &status
        && s != "success"
        && s != "failure"
    {
        return Err(bad_request("`status` is success or failure."));
    }
    Ok(LogQuery {
        api_key: key.clone().filter(|_| is_hash),
        key_alias: key.filter(|_| !is_hash),
        team_id: given(p.team_id),
        user_id: given(p.user_id),
        end_user: given(p.end_user),
        model_group: given(p.model),
        status,
        error_type: given(p.error_type),
        request_id: given(p.request_id),
        from: time("start", p.start)?,
        to: time("end", p.end)?,
        after,
    })
}

fn row(m: crate::db::entities::spend_log::Model) -> Value {
    log_json(&log_to_proto(m))
}

pub async fn list(
    State(app): State<AppState>,
    Authed(_): Authed,
    Query(p): Query<LogParams>,
) -> Result<Response, UiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let q = query(p)?;
    // One more than a page: whether a next page exists, without a count.
    let mut rows = log_page::page(app.spend_logs.connection(), &q, limit + 1)
        .await
        .map_err(internal)?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| {
            rows.last()
                .map(|l| format!("{}~{}", l.start_time.to_rfc3339(), l.request_id))
        })
        .flatten();
    let rows: Vec<Value> = rows.into_iter().map(row).collect();
    Ok(Json(json!({"rows": rows, "next_cursor": next})).into_response())
}

pub async fn stream(
    State(app): State<AppState>,
    Authed(_): Authed,
    headers: axum::http::HeaderMap,
    Query(p): Query<LogParams>,
) -> Result<Response, UiError> {
    let q = query(p)?;
    let id = super::guard::cookie_value(&headers, super::guard::COOKIE)
        .unwrap_or_default()
        .to_string();
    let ui = std::sync::Arc::clone(&app.ui);
    // The stream ends with its session (logout, expiry): checked at every
    // batch and at every keep-alive tick.
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
        std::time::Duration::from_secs(15),
    ))
    .map(|_| None);
    let batches = BroadcastStream::new(app.ui.tail.subscribe()).map(Some);
    let live = futures::stream::select(batches, ticks)
        .take_while(move |_| futures::future::ready(ui.sessions.is_live(&id)))
        .filter_map(futures::future::ready);
    let events = live.map(move |batch| {
        let mut out: Vec<Result<Event, Infallible>> = Vec::new();
        match batch {
            Ok(batch) => {
                let matching: Vec<_> = batch.iter().filter(|m| q.matches(m)).collect();
                for m in matching.iter().take(TAIL_BURST) {
                    let data = row((*m).clone()).to_string();
                    out.push(Ok(Event::default().event("log").data(data)));
                }
                if matching.len() > TAIL_BURST {
                    let dropped = matching.len() - TAIL_BURST;
                    out.push(Ok(Event::default()
                        .event("dropped")
                        .data(json!({"dropped": dropped}).to_string())));
                }
            }
            // The receiver fell behind the channel: say how much it missed.
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                out.push(Ok(Event::default()
                    .event("dropped")
                    .data(json!({"dropped_batches": n}).to_string())));
            }
        }
        futures::stream::iter(out)
    });
    Ok(Sse::new(events.flatten())
        .keep_alive(KeepAlive::default())
        .into_response())
}
