//! LiteLLM's spend routes: `GET /spend/logs` and `GET /global/spend/*`,
//! answered by the control plane's SpendService in LiteLLM's JSON shapes.
//!
//! Global spend is for the master key only; a virtual key may read its own
//! `/spend/logs` (the control plane scopes the query to that key).

use super::request::{Reply, Result, Spend, call, caller};
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::routing::get;
use std::collections::HashMap;
use tollgate_proto::spend_json;
use tollgate_proto::v1::{
    GlobalSpendRequest, SpendLogsRequest, SpendReportRequest, TeamSpendRequest, TopSpendRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/spend/logs", get(logs))
        .route("/global/spend", get(global))
        .route("/global/spend/models", get(models))
        .route("/global/spend/keys", get(keys))
        .route("/global/spend/teams", get(teams))
        .route("/global/spend/report", get(report))
}

type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

fn require_admin(app: &AppState, headers: &HeaderMap) -> Result<()> {
    if caller(app, headers)?.is_admin() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "Only the master key (proxy_admin) may read global spend; a virtual key may read its own /spend/logs.",
        ))
    }
}

fn params(query: Params) -> Result<HashMap<String, String>> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(format!("The query string cannot be parsed: {e}."), None)
    })
}

fn text(q: &HashMap<String, String>, name: &str) -> String {
    q.get(name)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn flag(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>> {
    match q
        .get(name)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(
            format!("`{name}` must be true or false; got `{other}`."),
            Some(name),
        )),
    }
}

fn count(q: &HashMap<String, String>, name: &str) -> Result<u32> {
    match q.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(0),
        Some(v) => v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::bad_request(
                format!("`{name}` must be a positive integer; got `{v}`."),
                Some(name),
            )
        }),
    }
}

async fn logs(State(app): State<AppState>, headers: HeaderMap, query: Params) -> Reply {
    // Any valid key: a virtual key is scoped to itself by the control plane.
    caller(&app, &headers)?;
    let q = params(query)?;
    let request = SpendLogsRequest {
        api_key: text(&q, "api_key"),
        user_id: text(&q, "user_id"),
        request_id: text(&q, "request_id"),
        start_date: text(&q, "start_date"),
        end_date: text(&q, "end_date"),
        summarize: flag(&q, "summarize")?,
        limit: count(&q, "limit")?,
    };
    let response = call(&app.spend, &headers, request, Spend::get_spend_logs).await?;
    Ok(Json(spend_json::spend_logs_json(&response)))
}

async fn global(State(app): State<AppState>, headers: HeaderMap) -> Reply {
    require_admin(&app, &headers)?;
    let response = call(
        &app.spend,
        &headers,
        GlobalSpendRequest {},
        Spend::get_global_spend,
    )
    .await?;
    Ok(Json(spend_json::global_spend_json(&response)))
}

async fn models(State(app): State<AppState>, headers: HeaderMap, query: Params) -> Reply {
    require_admin(&app, &headers)?;
    let limit = count(&params(query)?, "limit")?;
    let response = call(
        &app.spend,
        &headers,
        TopSpendRequest { limit },
        Spend::get_spend_by_model,
    )
    .await?;
    Ok(Json(spend_json::models_json(&response)))
}

async fn keys(State(app): State<AppState>, headers: HeaderMap, query: Params) -> Reply {
    require_admin(&app, &headers)?;
    let limit = count(&params(query)?, "limit")?;
    let response = call(
        &app.spend,
        &headers,
        TopSpendRequest { limit },
        Spend::get_spend_by_key,
    )
    .await?;
    Ok(Json(spend_json::keys_json(&response)))
}

async fn teams(State(app): State<AppState>, headers: HeaderMap) -> Reply {
    require_admin(&app, &headers)?;
    let response = call(
        &app.spend,
        &headers,
        TeamSpendRequest {},
        Spend::get_spend_by_team,
    )
    .await?;
    Ok(Json(spend_json::teams_json(&response)))
}

async fn report(State(app): State<AppState>, headers: HeaderMap, query: Params) -> Reply {
    require_admin(&app, &headers)?;
    let q = params(query)?;
    let request = SpendReportRequest {
        start_date: text(&q, "start_date"),
        end_date: text(&q, "end_date"),
        group_by: text(&q, "group_by"),
    };
    let response = call(&app.spend, &headers, request, Spend::get_spend_report).await?;
    Ok(Json(spend_json::report_json(&response)))
}
