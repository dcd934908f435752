//! The control plane's gauges, set when `/metrics` is scraped: the fleet's
//! view (snapshot version, data planes connected and in sync). Counters
//! are kept where things happen (ACK/NACK in `registry.rs`, ingest in
//! `spend/ingest.rs`, management calls in `grpc/mod.rs`). Budget gauges
//! belong here, never on the data planes (N replicas would export N copies).

use crate::state::AppState;

pub fn refresh(state: &AppState) {
    let published = state.current();
    let version = published.as_ref().map_or(0, |p| p.version);
    metrics::gauge!("tollgate_snapshot_version").set(version as f64);
    if let Some(p) = &published {
        let age = (chrono::Utc::now() - p.created_at)
            .num_milliseconds()
            .max(0) as f64
            / 1000.0;
        metrics::gauge!("tollgate_snapshot_age_seconds").set(age);
    }
    metrics::gauge!("tollgate_dataplanes_connected").set(state.registry.connected_count() as f64);
    let in_sync = state
        .registry
        .list()
        .iter()
        .filter(|row| row.connected && row.applied_version == i64::try_from(version).ok())
        .count();
    metrics::gauge!("tollgate_dataplanes_in_sync").set(in_sync as f64);
}

/// LiteLLM's team budget gauges, read from the database at scrape (one
/// query; nothing on a request path). A team is an operator-made row, so
/// the series are bounded by the teams there are; per-key budget series
/// are not exported (unbounded: per-key spend is in `/spend/logs`).
pub async fn refresh_budgets(state: &AppState) {
    let teams = match crate::db::Teams::new(state.database.clone()).all().await {
        Ok(teams) => teams,
        Err(e) => {
            tracing::debug!("team budgets not read for /metrics: {e}");
            return;
        }
    };
    for team in teams {
        let Some(max) = team.max_budget else {
            continue;
        };
        let labels = [
            ("team", team.team_id.clone()),
            ("team_alias", team.team_alias.clone().unwrap_or_default()),
        ];
        let spent = tollgate_shared::pricing::to_usd(u64::try_from(team.spend_picos).unwrap_or(0));
        metrics::gauge!("litellm_team_max_budget_metric", &labels).set(max);
        metrics::gauge!("litellm_remaining_team_budget_metric", &labels).set(max - spent);
    }
}
