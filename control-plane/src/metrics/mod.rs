//! The control plane's gauges, set when `/metrics` is scraped: the fleet's
//! view (snapshot version, data planes connected and in sync), the
//! database pool (`pool.rs`) and the budgets (`budgets.rs`). Counters are
//! kept where things happen (ACK/NACK in `grpc/config_service.rs`,
//! propagation in `propagation.rs`, ingest in `spend/ingest.rs`, management
//! calls in `grpc/mod.rs`). Budget gauges belong here, never on the data
//! planes (N replicas would export N copies).

pub mod budgets;
pub mod pool;

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
    pool::refresh(&state.database);
}
