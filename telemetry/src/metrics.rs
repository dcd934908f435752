//! Prometheus metrics: one registry per process (so, unlike LiteLLM's
//! workers, a scrape sees all of it), rendered as Prometheus text or, when
//! the scraper asks for it, OpenMetrics. Histograms get the semantic
//! conventions' buckets. Label values come only from the config snapshot,
//! closed lists or route templates — never from a request.

use metrics::{Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// `gen_ai.client.operation.duration` and friends (seconds).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.client.token.usage` ({token}).
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// The gateway's own time per request (seconds).
pub const OVERHEAD_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];

/// A snapshot's way from publish to the fleet's last ACK (seconds): a
/// delta applies in milliseconds, a full snapshot of 100,000 keys in
/// seconds; the last bucket is the tracker's limit.
pub const PROPAGATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once). Metrics recorded before it are
/// lost, so both planes call it first thing in `start()`.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("token_usage".into()), &TOKEN_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("tokens".into()), &TOKEN_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("tollgate_overhead_seconds".into()),
                        &OVERHEAD_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("tollgate_snapshot_propagation_seconds".into()),
                        &PROPAGATION_BUCKETS,
                    )
                })
                .and_then(|b| b.set_buckets(&DURATION_BUCKETS));
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    // Another recorder (a test harness) is installed.
                    tracing::debug!("Prometheus recorder not installed: {e}");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "tollgate_otel_dropped_spans_total",
        "Spans dropped because the export queue was full or the exporter failed"
    );
    metrics::describe_histogram!(
        "http_server_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request duration by route template, to the last byte"
    );
    metrics::describe_gauge!(
        "tollgate_inflight_requests",
        "HTTP requests being served, by route template"
    );
}

pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The scrape body in the format `accept` asks for, with its content type.
pub fn render(accept: Option<&str>) -> (&'static str, String) {
    render_with(accept, "")
}

/// [`render`], with `extra` (complete families in Prometheus text format)
/// appended: series computed at scrape that must not outlive it in the
/// registry (a deleted row's gauge disappears with the row).
pub fn render_with(accept: Option<&str>, extra: &str) -> (&'static str, String) {
    metrics::counter!("tollgate_otel_dropped_spans_total").absolute(crate::dropped_spans());
    let Some(handle) = install() else {
        return (TEXT, String::new());
    };
    handle.run_upkeep();
    let mut text = handle.render();
    if !extra.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(extra);
    }
    if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
        (OPENMETRICS, to_openmetrics(&text))
    } else {
        (TEXT, text)
    }
}

/// Prometheus text → OpenMetrics: a counter family is named without its
/// `_total` suffix in `# TYPE`/`# HELP`, and the exposition ends with
/// `# EOF`.
pub fn to_openmetrics(text: &str) -> String {
    let counters: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        let meta = line
            .strip_prefix("# TYPE ")
            .map(|r| ("# TYPE ", r))
            .or_else(|| line.strip_prefix("# HELP ").map(|r| ("# HELP ", r)));
        if let Some((prefix, rest)) = meta {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name)
                && let Some(family) = name.strip_suffix("_total")
            {
                out.push_str(prefix);
                out.push_str(family);
                out.push(' ');
                out.push_str(tail);
                out.push('\n');
                continue;
            }
        }
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

/// HTTP metrics by method and route template, handles cached on first use
/// (the set of routes is fixed, so is the set of series).
#[derive(Default)]
pub struct HttpMetrics {
    routes: RwLock<HashMap<(http::Method, Arc<str>), RouteHandles>>,
}

#[derive(Clone)]
pub struct RouteHandles(Arc<RouteInner>);

struct RouteInner {
    method: http::Method,
    route: Arc<str>,
    in_flight: Gauge,
    durations: RwLock<HashMap<u16, Histogram>>,
}

/// Decrements the route's in-flight gauge when dropped.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl HttpMetrics {
    pub fn route(&self, method: &http::Method, route: &Arc<str>) -> RouteHandles {
        let key = (method.clone(), Arc::clone(route));
        if let Some(h) = self.routes.read().ok().and_then(|m| m.get(&key).cloned()) {
            return h;
        }
        let handles = RouteHandles(Arc::new(RouteInner {
            method: method.clone(),
            route: Arc::clone(route),
            in_flight: metrics::gauge!("tollgate_inflight_requests", "http_route" => route.to_string()),
            durations: RwLock::default(),
        }));
        if let Ok(mut m) = self.routes.write() {
            m.entry(key).or_insert_with(|| handles.clone());
        }
        handles
    }
}

impl RouteHandles {
    pub fn start(&self) -> InFlight {
        self.0.in_flight.increment(1.0);
        InFlight(self.0.in_flight.clone())
    }

    pub fn finish(&self, status: u16, elapsed: Duration) {
        let cached = self
            .0
            .durations
            .read()
            .ok()
            .and_then(|m| m.get(&status).cloned());
        let histogram = cached.unwrap_or_else(|| {
            let h = metrics::histogram!(
                "http_server_request_duration_seconds",
                "http_request_method" => self.0.method.to_string(),
                "http_route" => self.0.route.to_string(),
                "http_response_status_code" => status.to_string(),
            );
            if let Ok(mut m) = self.0.durations.write() {
                m.insert(status, h.clone());
            }
            h
        });
        histogram.record(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_names_counter_families_and_ends_with_eof() {
        let text = "# HELP a_total things\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\n# TYPE g gauge\ng 1\n";
        let om = to_openmetrics(text);
        assert_eq!(
            om,
            "# HELP a things\n# TYPE a counter\na_total{x=\"1\"} 3\n# TYPE g gauge\ng 1\n# EOF\n"
        );
    }
}
