//! How a published snapshot reaches the fleet: from the moment it is
//! published (every config stream is woken to push it) until every
//! connected data plane ACKs it, one rejects it, or a limit passes.
//!
//! Each published version gets a `tollgate.snapshot.propagate` span (a
//! child of the build or delta span that published it, so a management
//! write's trace shows its fleet-wide apply) with one event per data plane
//! that ACKs or NACKs it, and, when every connected data plane ACKed, one
//! observation of `tollgate_snapshot_propagation_seconds`.
//!
//! The registry drives the [`Tracker`] synchronously on every change of
//! what a node serves, before it wakes anyone waiting on it: when a
//! management write answers "applied", its propagation is already counted
//! (a scrape right after it sees it). The publisher registers each version
//! before any stream is woken to push it.

use crate::registry::{Progress, Registry};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Span;

/// How long a version is followed. Far above a healthy fleet's apply time
/// (milliseconds); a data plane slower than this is stuck, and the span
/// must end for its trace to be exported.
pub const LIMIT: Duration = Duration::from_secs(30);

/// How often versions past the limit are ended.
const SWEEP: Duration = Duration::from_secs(1);

/// A version just published.
pub struct Published {
    pub version: u64,
    /// A delta (a management write) or a full snapshot (a config change).
    pub delta: bool,
    pub at: Instant,
    /// `tollgate.snapshot.propagate`, created where the version was
    /// published; ended when the tracker lets go of it.
    pub span: Span,
}

impl Published {
    /// Starts the version's span under the current one (the build or
    /// delta span).
    pub fn now(version: u64, delta: bool) -> Self {
        let span = tracing::info_span!(
            "snapshot_propagate",
            otel.name = "tollgate.snapshot.propagate",
            otel.kind = "internal",
            otel.status_code = tracing::field::Empty,
            tollgate.snapshot.version = version as i64,
            tollgate.snapshot.delta = delta,
            tollgate.snapshot.dataplanes = tracing::field::Empty,
            tollgate.snapshot.acks = tracing::field::Empty,
            tollgate.snapshot.nacks = tracing::field::Empty,
            tollgate.snapshot.result = tracing::field::Empty,
        );
        Self {
            version,
            delta,
            at: Instant::now(),
            span,
        }
    }
}

/// How a version's propagation ended (the `result` label and span
/// attribute: a closed list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every connected data plane ACKed it.
    Complete,
    /// Every connected data plane answered, and at least one NACKed it.
    Rejected,
    /// Some connected data plane had not answered at the limit.
    Timeout,
    /// No data plane was connected: nothing to propagate to.
    NoDataplanes,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Rejected => "rejected",
            Outcome::Timeout => "timeout",
            Outcome::NoDataplanes => "no_dataplanes",
        }
    }
}

/// One version being followed, and the answers already recorded on its
/// span.
struct Following {
    published: Published,
    answered: HashMap<String, Progress>,
}

/// The versions on their way to the fleet.
#[derive(Default)]
pub struct Tracker {
    following: Vec<Following>,
}

impl Tracker {
    /// Starts following a version; `nodes` says where each connected node
    /// is with a version (the registry's view).
    pub fn track(&mut self, published: Published, nodes: impl Fn(u64) -> Vec<(String, Progress)>) {
        self.following.push(Following {
            published,
            answered: HashMap::new(),
        });
        self.update(nodes);
    }

    /// Records new answers and ends the versions the fleet has settled.
    pub fn update(&mut self, nodes: impl Fn(u64) -> Vec<(String, Progress)>) {
        self.following.retain_mut(|f| {
            let now = nodes(f.published.version);
            f.record_answers(&now);
            match settled(&now) {
                Some(outcome) => {
                    finish(&f.published, outcome, &now);
                    false
                }
                None => true,
            }
        });
    }

    /// Ends the versions followed for longer than `limit`.
    pub fn expire(&mut self, limit: Duration, nodes: impl Fn(u64) -> Vec<(String, Progress)>) {
        self.following.retain(|f| {
            if f.published.at.elapsed() < limit {
                return true;
            }
            finish(&f.published, Outcome::Timeout, &nodes(f.published.version));
            false
        });
    }

    /// Versions still on their way.
    pub fn len(&self) -> usize {
        self.following.len()
    }

    pub fn is_empty(&self) -> bool {
        self.following.is_empty()
    }
}

impl Following {
    fn record_answers(&mut self, nodes: &[(String, Progress)]) {
        let elapsed = self.published.at.elapsed().as_secs_f64();
        for (node_id, state) in nodes {
            if *state == Progress::Pending || self.answered.get(node_id) == Some(state) {
                continue;
            }
            self.answered.insert(node_id.clone(), *state);
            // Node ids are the operator's names for its data planes. At
            // trace level: exported with the span, not a log line per ACK.
            if *state == Progress::Applied {
                tracing::trace!(
                    parent: &self.published.span,
                    tollgate.dataplane.node_id = node_id.as_str(),
                    tollgate.snapshot.elapsed_seconds = elapsed,
                    "tollgate.snapshot.ack"
                );
            } else {
                tracing::trace!(
                    parent: &self.published.span,
                    tollgate.dataplane.node_id = node_id.as_str(),
                    tollgate.snapshot.elapsed_seconds = elapsed,
                    "tollgate.snapshot.nack"
                );
            }
        }
    }
}

/// The outcome once no connected node is pending.
fn settled(nodes: &[(String, Progress)]) -> Option<Outcome> {
    if nodes.is_empty() {
        return Some(Outcome::NoDataplanes);
    }
    if nodes.iter().any(|(_, s)| *s == Progress::Pending) {
        return None;
    }
    Some(if nodes.iter().all(|(_, s)| *s == Progress::Applied) {
        Outcome::Complete
    } else {
        Outcome::Rejected
    })
}

/// Records the outcome on the span (which ends when the caller drops it)
/// and in the metrics.
fn finish(p: &Published, outcome: Outcome, nodes: &[(String, Progress)]) {
    let count = |want: Progress| nodes.iter().filter(|(_, s)| *s == want).count() as i64;
    p.span
        .record("tollgate.snapshot.dataplanes", nodes.len() as i64);
    p.span
        .record("tollgate.snapshot.acks", count(Progress::Applied));
    p.span
        .record("tollgate.snapshot.nacks", count(Progress::Rejected));
    p.span.record("tollgate.snapshot.result", outcome.as_str());
    if matches!(outcome, Outcome::Rejected | Outcome::Timeout) {
        p.span.record("otel.status_code", "ERROR");
    }
    let kind = if p.delta { "delta" } else { "full" };
    metrics::counter!(
        "tollgate_snapshot_propagations_total",
        "kind" => kind,
        "result" => outcome.as_str(),
    )
    .increment(1);
    if outcome == Outcome::Complete {
        metrics::histogram!("tollgate_snapshot_propagation_seconds", "kind" => kind)
            .record(p.at.elapsed().as_secs_f64());
    }
}

/// Ends the versions past [`LIMIT`] every second until cancelled.
pub fn spawn_sweeper(registry: Arc<Registry>, cancel: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => registry.expire_propagations(LIMIT),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(states: &[(&str, Progress)]) -> impl Fn(u64) -> Vec<(String, Progress)> {
        let states: Vec<_> = states.iter().map(|(n, s)| (n.to_string(), *s)).collect();
        move |_| states.clone()
    }

    #[test]
    fn a_version_is_followed_until_every_node_answers() {
        let mut t = Tracker::default();
        t.track(
            Published::now(7, true),
            nodes(&[("a", Progress::Applied), ("b", Progress::Pending)]),
        );
        assert_eq!(t.len(), 1);
        t.update(nodes(&[
            ("a", Progress::Applied),
            ("b", Progress::Rejected),
        ]));
        assert!(t.is_empty());
    }

    #[test]
    fn nothing_connected_settles_at_once_and_the_limit_ends_the_rest() {
        let mut t = Tracker::default();
        t.track(Published::now(1, false), nodes(&[]));
        assert!(t.is_empty());
        t.track(Published::now(2, false), nodes(&[("a", Progress::Pending)]));
        t.expire(LIMIT, nodes(&[("a", Progress::Pending)]));
        assert_eq!(t.len(), 1, "not yet past the limit");
        t.expire(Duration::ZERO, nodes(&[("a", Progress::Pending)]));
        assert!(t.is_empty());
    }

    #[test]
    fn outcomes() {
        let s = |v: &[(&str, Progress)]| settled(&nodes(v)(0));
        assert_eq!(s(&[]), Some(Outcome::NoDataplanes));
        assert_eq!(s(&[("a", Progress::Applied)]), Some(Outcome::Complete));
        assert_eq!(
            s(&[("a", Progress::Applied), ("b", Progress::Rejected)]),
            Some(Outcome::Rejected)
        );
        assert_eq!(s(&[("a", Progress::Pending)]), None);
    }
}
