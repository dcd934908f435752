//! LiteLLM's budget gauges, read from the database at scrape (nothing on a
//! request path) and written as text (`tollgate_telemetry::exposition`),
//! never kept in the registry: a deleted team's, key's or user's series
//! goes with its row.
//!
//! Teams are operator-made rows, so their series are always exported.
//! Keys and users can number in the hundreds of thousands: their gauges
//! only with `litellm_settings.prometheus_initialize_budget_metrics: true`.
//! Only rows with a `max_budget` have a series (an unlimited budget has
//! nothing to watch).

use crate::state::AppState;
use tollgate_shared::pricing::to_usd;
use tollgate_telemetry::exposition::{Sample, gauge_family};

/// The budget families, in Prometheus text. A failed query leaves its
/// families out of this scrape (and says why in the debug log).
pub async fn render(state: &AppState) -> String {
    let mut out = String::new();
    let now = chrono::Utc::now();
    match crate::db::Teams::new(state.database.clone()).all().await {
        Ok(teams) => {
            let rows: Vec<_> = teams
                .into_iter()
                .filter_map(|t| {
                    let labels = vec![
                        ("team", t.team_id),
                        ("team_alias", t.team_alias.unwrap_or_default()),
                    ];
                    Some(Row {
                        labels,
                        max: t.max_budget?,
                        spent: spent(t.spend_picos),
                        reset_at: t.budget_reset_at,
                    })
                })
                .collect();
            families(&mut out, "team", "Team", &rows, now);
        }
        Err(e) => tracing::debug!("team budgets not read for /metrics: {e}"),
    }
    if !state.budget_metrics_per_key_and_user {
        return out;
    }
    match crate::db::VirtualKeys::new(state.database.clone())
        .with_budget()
        .await
    {
        Ok(keys) => {
            let rows: Vec<_> = keys
                .into_iter()
                .filter_map(|k| {
                    // LiteLLM's label: the key's SHA-256 (what it stores
                    // and `/key/info` names it by), never the key.
                    let labels = vec![
                        ("hashed_api_key", k.token),
                        ("api_key_alias", k.key_alias.unwrap_or_default()),
                    ];
                    Some(Row {
                        labels,
                        max: k.max_budget?,
                        spent: spent(k.spend_picos),
                        reset_at: k.budget_reset_at,
                    })
                })
                .collect();
            families(&mut out, "api_key", "API key", &rows, now);
        }
        Err(e) => tracing::debug!("key budgets not read for /metrics: {e}"),
    }
    match crate::db::Users::new(state.database.clone())
        .with_budget()
        .await
    {
        Ok(users) => {
            let rows: Vec<_> = users
                .into_iter()
                .filter_map(|u| {
                    Some(Row {
                        labels: vec![("user", u.user_id)],
                        max: u.max_budget?,
                        spent: spent(u.spend_picos),
                        reset_at: u.budget_reset_at,
                    })
                })
                .collect();
            families(&mut out, "user", "Internal user", &rows, now);
        }
        Err(e) => tracing::debug!("user budgets not read for /metrics: {e}"),
    }
    out
}

/// One budgeted row: its labels, budget and spend (USD).
struct Row {
    labels: Vec<(&'static str, String)>,
    max: f64,
    spent: f64,
    reset_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn spent(picos: i64) -> f64 {
    to_usd(u64::try_from(picos).unwrap_or(0))
}

/// LiteLLM's three gauges of one entity kind: `litellm_{kind}_max_budget_metric`,
/// `litellm_remaining_{kind}_budget_metric` and, for rows whose budget
/// resets, `litellm_{kind}_budget_remaining_hours_metric`.
fn families(
    out: &mut String,
    kind: &str,
    what: &str,
    rows: &[Row],
    now: chrono::DateTime<chrono::Utc>,
) {
    let max: Vec<Sample> = rows.iter().map(|r| (r.labels.clone(), r.max)).collect();
    let remaining: Vec<Sample> = rows
        .iter()
        .map(|r| (r.labels.clone(), r.max - r.spent))
        .collect();
    let hours: Vec<Sample> = rows
        .iter()
        .filter_map(|r| {
            let reset_at = r.reset_at?;
            let seconds = (reset_at - now).num_seconds().max(0) as f64;
            Some((r.labels.clone(), seconds / 3600.0))
        })
        .collect();
    gauge_family(
        out,
        &format!("litellm_{kind}_max_budget_metric"),
        &format!("{what} maximum budget (USD)"),
        &max,
    );
    gauge_family(
        out,
        &format!("litellm_remaining_{kind}_budget_metric"),
        &format!("{what} budget left (USD): max budget minus spend"),
        &remaining,
    );
    gauge_family(
        out,
        &format!("litellm_{kind}_budget_remaining_hours_metric"),
        &format!("Hours until the {what} budget resets"),
        &hours,
    );
}
