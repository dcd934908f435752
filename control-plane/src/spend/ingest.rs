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

/// Records merged into one transaction at most.
const MAX_RECORDS_PER_TRANSACTION: usize = 10_000;

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
        match logs.insert_batches(batches).await {
            Ok(stored) => {
                for (reply, n) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(n));
                }
            }
            Err(e) => {
                let e = IngestError::Storage(e.to_string());
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
