//! Usage records: one per request, handed to the reporter without blocking
//! the request, delivered to the control plane with acknowledgements.

mod accounting;
mod journal;
mod reporter;
mod request_meta;
mod spill;
pub mod tokenizer;

pub use accounting::{Accounting, Settled};
pub use reporter::{ReporterOptions, run as run_reporter};
pub use request_meta::RequestMeta;

/// Usage records spilled to disk since start.
pub fn spilled_total() -> u64 {
    spill::SPILLED.load(Ordering::Relaxed)
}

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tollgate_proto::v1::UsageRecord;
use tracing::warn;

/// The request path's handle: `try_send` only, never an await.
#[derive(Clone)]
pub struct UsageSink {
    tx: mpsc::Sender<UsageRecord>,
    dropped: Arc<AtomicU64>,
}

impl UsageSink {
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<UsageRecord>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            Self {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }

    /// Records waiting for the reporter.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Records dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn record(&self, record: UsageRecord) {
        if self.tx.try_send(record).is_err() {
            // Only when the reporter is gone or its bounded buffer is full:
            // counted and logged (every 1,000th), never a stalled request.
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                warn!(dropped = n, "usage buffer full: usage records dropped");
            }
        }
    }
}
