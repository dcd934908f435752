//! Per-node gauges, set when scraped (nothing on the request path):
//! snapshot version and age, control-plane connection, usage buffer.

use crate::http::AppState;

/// Sets the node's gauges from its live state.
pub fn refresh(app: &AppState) {
    let applied = app.live.applied();
    metrics::gauge!("tollgate_snapshot_version")
        .set(applied.as_ref().map_or(0.0, |a| a.version as f64));
    if let Some(age) = app.live.applied_age() {
        metrics::gauge!("tollgate_snapshot_age_seconds").set(age.as_secs_f64());
    }
    metrics::gauge!("tollgate_controlplane_connected").set(if app.live.control_plane_connected() {
        1.0
    } else {
        0.0
    });
    metrics::gauge!("tollgate_usage_buffer_depth").set(app.usage.depth() as f64);
    metrics::counter!("tollgate_usage_records_dropped_total").absolute(app.usage.dropped());
    metrics::counter!("tollgate_usage_records_spilled_total")
        .absolute(crate::usage::spilled_total());
}

/// The scrape body for `accept`.
pub fn scrape(app: &AppState, accept: Option<&str>) -> (&'static str, String) {
    refresh(app);
    tollgate_telemetry::metrics::render(accept)
}
