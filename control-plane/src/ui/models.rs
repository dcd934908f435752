//! Models: every deployment of the published config with its provider,
//! upstream model, `api_base` (credentials in it removed), prices and
//! limits, beside its last 24 hours from the rollup (requests, errors,
//! p50/p95). The config part holds provider keys: only the fields named
//! below are ever read from it (serde skips the rest unparsed).

use super::guard::{Authed, Tunnelled};
use super::session::Role;
use super::{UiError, error, internal};
use crate::db::usage_hourly::{self, HourRange};
use crate::spend::hourly::{Dim, quantile_ms};
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{Duration, DurationRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use tollgate_web::tunnel::PROBE_HEADER;

#[derive(Deserialize)]
struct ConfigPart {
    deployments: Vec<Deployment>,
}

#[derive(Deserialize)]
struct Deployment {
    id: String,
    model_name: String,
    provider: Value,
    upstream_model: String,
    params: Params,
}

#[derive(Deserialize)]
struct Params {
    api_base: Option<String>,
    rpm: Option<u64>,
    tpm: Option<u64>,
    order: Option<u32>,
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    /// Answered in-process, never charged (as `prices.rs` treats it).
    mock_response: Option<Value>,
}

use crate::publisher::redact::public_base;

fn per_million(cost: Option<f64>) -> Option<f64> {
    cost.map(|c| (c * 1e6 * 1e6).round() / 1e6)
}

pub async fn models(State(app): State<AppState>, Authed(_): Authed) -> Result<Response, UiError> {
    let Some(part) = app.publisher.config_part().await else {
        return Ok(Json(json!({"models": []})).into_response());
    };
    let config: ConfigPart = serde_json::from_slice(&part).map_err(internal)?;
    let now = Utc::now()
        .duration_trunc(Duration::hours(1))
        .unwrap_or_else(|_| Utc::now());
    let range = HourRange {
        from: (now - Duration::hours(23))
            .format("%Y-%m-%dT%H")
            .to_string(),
        to: (now + Duration::hours(1)).format("%Y-%m-%dT%H").to_string(),
    };
    let usage: HashMap<String, _> =
        usage_hourly::top(app.spend_logs.connection(), Dim::Model, &range, 500, None)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|r| (r.dim_id, r.sums))
            .collect();
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for d in config.deployments {
        let p = &d.params;
        // Prices the config or a price file set are in the snapshot; the
        // built-in table's are applied by data planes, read here the same way.
        let builtin = tollgate_shared::pricing::builtin(
            d.upstream_model
                .rsplit('/')
                .next()
                .unwrap_or(&d.upstream_model),
        )
        .filter(|_| p.mock_response.is_none())
        .map(|card| card.price.to_usd_per_token());
        let (input, output, cached) = match (p.input_cost_per_token, builtin) {
            (Some(_), _) | (None, None) => (
                p.input_cost_per_token,
                p.output_cost_per_token,
                p.cache_read_input_token_cost,
            ),
            (None, Some((i, o, c))) => (Some(i), Some(o), Some(c)),
        };
        let row = json!({
            "id": d.id,
            "provider": d.provider,
            "upstream_model": d.upstream_model,
            "api_base": p.api_base.as_deref().map(public_base),
            "rpm": p.rpm,
            "tpm": p.tpm,
            "order": p.order,
            "input_per_million": per_million(input),
            "output_per_million": per_million(output),
            "cached_per_million": per_million(cached),
        });
        match groups.iter_mut().find(|(name, _)| *name == d.model_name) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((d.model_name, vec![row])),
        }
    }
    let models: Vec<Value> = groups
        .into_iter()
        .map(|(name, deployments)| {
            let u = usage.get(&name);
            json!({
                "model_name": name,
                "deployments": deployments,
                "last_24h": {
                    "requests": u.map_or(0, |s| s.requests),
                    "errors": u.map_or(0, |s| s.errors),
                    "p50_ms": u.and_then(|s| quantile_ms(&s.latency, 0.5)),
                    "p95_ms": u.and_then(|s| quantile_ms(&s.latency, 0.95)),
                },
            })
        })
        .collect();
    Ok(Json(json!({"models": models})).into_response())
}

/// "Check now": authorized here (a session, its CSRF token), run by the data
/// plane that tunnelled the request, which holds the provider credentials
/// and client: this answer only names the deployment.
pub async fn check(
    State(app): State<AppState>,
    Authed(session): Authed,
    tunnelled: Option<Extension<Tunnelled>>,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if session.role != Role::Admin {
        // The probe spends the provider's quota with the deployment's key.
        return Err(error(
            StatusCode::FORBIDDEN,
            "permission_error",
            "Health probes are for proxy_admin users: a proxy_admin_viewer session reads the \
             Models page only. Log in as an admin to check a deployment.",
        ));
    }
    let Some(part) = app.publisher.config_part().await else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "No config is published yet.",
        ));
    };
    let config: ConfigPart = serde_json::from_slice(&part).map_err(internal)?;
    if !config.deployments.iter().any(|d| d.id == id) {
        return Err(error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("No deployment {id} in the published config: reload the Models page."),
        ));
    }
    if tunnelled.is_none() {
        return Err(error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "Health probes run on data planes (they call the provider with its credentials): \
             open the dashboard through a data plane's /ui to check a deployment.",
        ));
    }
    Ok(([(PROBE_HEADER, id)], Json(json!({}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::public_base;

    #[test]
    fn credentials_and_queries_leave_the_api_base() {
        assert_eq!(
            public_base("https://u:secret@host:8080/v1?key=k"),
            "https://host:8080/v1"
        );
        assert_eq!(
            public_base("http://127.0.0.1:1234/v1"),
            "http://127.0.0.1:1234/v1"
        );
    }
}
