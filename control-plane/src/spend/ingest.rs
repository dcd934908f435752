//! One writer for every usage stream: batches from all data planes queue
//! here, and whatever has queued while the previous transaction ran is
//! stored together in the next one.
//!
//! Why: every batch touches the same hot aggregate rows (today's global and
//! per-model rows, busy keys and teams). Concurrent transactions would queue
//! on those row locks one behind the other anyway; one writer turns that
//! queue into group commits, and merging batches shrinks the aggregate
//! upserts (one row per entity instead of one per entity per batch).

use crate::db::SpendLogs;
use crate::db::entities::spend_log::Model;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// Records merged into one transaction at most. Each transaction updates
/// the current hour's, day's and month's rollup rows of every active key,
/// team, user and model whatever its size, so a backlog drains faster in
/// larger ones (20,000 against 10,000: +10 % records/s on both backends,
/// docs/PERFORMANCE.md).
const MAX_RECORDS_PER_TRANSACTION: usize = 20_000;

type Reply = oneshot::Sender<Result<u64, IngestError>>;
/// A queued batch's outcome; a closed channel means the writer stopped.
pub type Pending = oneshot::Receiver<Result<u64, IngestError>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("usage storage failed: {0}")]
    Storage(String),
    #[error("the control plane is shutting down")]
    Closed,
}

#[derive(Clone)]
pub struct IngestWriter {
    queue: mpsc::Sender<(Vec<Model>, Reply)>,
}

impl IngestWriter {
    /// Starts the writer task; it ends when every handle is dropped or on
    /// `cancel`.
    pub fn spawn(logs: SpendLogs, cancel: CancellationToken) -> Self {
        let (queue, rx) = mpsc::channel(256);
        tokio::spawn(run(logs, rx, cancel));
        Self { queue }
    }

    /// Queues one batch; the answer (how many of its records were new)
    /// comes once its transaction commits. Only then may the batch be
    /// acknowledged.
    pub async fn submit(&self, batch: Vec<Model>) -> Result<Pending, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((batch, reply))
            .await
            .map_err(|_| IngestError::Closed)?;
        Ok(answer)
    }
}

async fn run(
    logs: SpendLogs,
    mut rx: mpsc::Receiver<(Vec<Model>, Reply)>,
    cancel: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            next = rx.recv() => match next {
                Some(item) => item,
                None => return,
            },
        };
        let mut records = first.0.len();
        let mut pending = vec![first];
        while records < MAX_RECORDS_PER_TRANSACTION {
            match rx.try_recv() {
                Ok(item) => {
                    records += item.0.len();
                    pending.push(item);
                }
                Err(_) => break,
            }
        }
        let (batches, replies): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
        // One root span per transaction, linked to (up to 128 of) the
        // requests it stores: not a span per record, not a child of one.
        let span = tracing::info_span!(
            parent: None,
            "usage_ingest",
            otel.name = "tollgate.usage.ingest",
            otel.kind = "internal",
            tollgate.usage.records = records as i64,
            tollgate.usage.batches = batches.len() as i64,
        );
        if !span.is_disabled() {
            for m in batches.iter().flatten().take(128) {
                if let (Some(t), Some(s)) = (&m.trace_id, &m.span_id) {
                    tollgate_telemetry::propagation::link(&span, t, s);
                }
            }
        }
        let now = chrono::Utc::now();
        for m in batches.iter().flatten() {
            let lag = (now - m.end_time).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!("tollgate_usage_ingest_lag_seconds").record(lag);
        }
        let started = std::time::Instant::now();
        let result = logs.insert_batches(batches).instrument(span).await;
        metrics::histogram!("tollgate_usage_ingest_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(stored) => {
                let new: u64 = stored.iter().sum();
                metrics::counter!("tollgate_usage_ingested_total", "result" => "stored")
                    .increment(new);
                metrics::counter!("tollgate_usage_ingested_total", "result" => "duplicate")
                    .increment((records as u64).saturating_sub(new));
                for (reply, n) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(n));
                }
            }
            Err(e) => {
                metrics::counter!("tollgate_usage_ingested_total", "result" => "failed")
                    .increment(records as u64);
                let e = IngestError::Storage(e.to_string());
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
