//! Delivers usage records to the control plane.
//!
//! Records are batched (by size or age) and each batch stays in memory until
//! the control plane acknowledges it. After a reconnect every unacknowledged
//! batch is sent again; the control plane stores by request id, so a batch
//! that was stored but whose ack was lost is not counted twice.
//!
//! Memory is bounded: past `max_buffered` records the oldest pending ones are
//! dropped and counted. (Spilling to disk instead is the spend issue's.)

use crate::sync::{Backoff, connect};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tollgate_proto::v1::usage_reporting_client::UsageReportingClient;
use tollgate_proto::v1::{UsageBatch, UsageRecord};
use tracing::{debug, info, warn};

#[derive(Clone)]
pub struct ReporterOptions {
    pub endpoint: connect::Endpoint,
    pub node_id: String,
    pub batch_size: usize,
    pub batch_age: Duration,
    pub max_buffered: usize,
    /// How long shutdown waits for the last acks.
    pub flush_timeout: Duration,
}

struct Buffers {
    pending: VecDeque<UsageRecord>,
    unacked: BTreeMap<u64, Vec<UsageRecord>>,
    next_batch: u64,
    dropped: u64,
    max_buffered: usize,
}

impl Buffers {
    fn push(&mut self, record: UsageRecord) {
        let buffered = self.pending.len() + self.unacked.values().map(Vec::len).sum::<usize>();
        if buffered >= self.max_buffered {
            self.pending.pop_front();
            self.dropped += 1;
            if self.dropped == 1 || self.dropped.is_multiple_of(1000) {
                warn!(
                    dropped = self.dropped,
                    "usage buffer full while the control plane is unreachable"
                );
            }
        }
        self.pending.push_back(record);
    }

    /// Moves up to `size` pending records into a new unacked batch.
    fn cut(&mut self, size: usize) -> Option<u64> {
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(size);
        let records: Vec<_> = self.pending.drain(..n).collect();
        let id = self.next_batch;
        self.next_batch += 1;
        self.unacked.insert(id, records);
        Some(id)
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.unacked.is_empty()
    }
}

/// Runs until `cancel` fires, then flushes for up to `flush_timeout`.
pub async fn run(
    mut records: mpsc::Receiver<UsageRecord>,
    opts: ReporterOptions,
    cancel: CancellationToken,
) {
    let mut buffers = Buffers {
        pending: VecDeque::new(),
        unacked: BTreeMap::new(),
        next_batch: 1,
        dropped: 0,
        max_buffered: opts.max_buffered,
    };
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut flush_deadline: Option<tokio::time::Instant> = None;
    loop {
        if cancel.is_cancelled() && flush_deadline.is_none() {
            flush_deadline = Some(tokio::time::Instant::now() + opts.flush_timeout);
            // Take everything already handed over by finished requests.
            while let Ok(r) = records.try_recv() {
                buffers.push(r);
            }
            if buffers.is_empty() {
                return;
            }
        }
        if let Some(deadline) = flush_deadline
            && tokio::time::Instant::now() >= deadline
        {
            let lost =
                buffers.pending.len() + buffers.unacked.values().map(Vec::len).sum::<usize>();
            warn!(
                lost,
                "shutdown: usage records not acknowledged before the flush timeout"
            );
            return;
        }
        match session(
            &mut records,
            &mut buffers,
            &opts,
            &cancel,
            &mut backoff,
            flush_deadline,
        )
        .await
        {
            Ok(SessionEnd::Drained) => return,
            Ok(SessionEnd::Cancelled) => continue,
            Ok(SessionEnd::Closed) => debug!("usage stream closed by the control plane"),
            Err(e) => debug!("usage stream: {e}"),
        }
        let wait = backoff.next_delay();
        let sleep_until = match flush_deadline {
            Some(deadline) => deadline.min(tokio::time::Instant::now() + wait),
            None => tokio::time::Instant::now() + wait,
        };
        // Keep accepting records while disconnected.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(sleep_until) => break,
                _ = cancel.cancelled(), if flush_deadline.is_none() => break,
                r = records.recv() => match r {
                    Some(r) => buffers.push(r),
                    None => break,
                },
            }
        }
    }
}

enum SessionEnd {
    /// Shutdown and everything acknowledged.
    Drained,
    /// Shutdown began; the caller switches to flushing.
    Cancelled,
    Closed,
}

async fn session(
    records: &mut mpsc::Receiver<UsageRecord>,
    buffers: &mut Buffers,
    opts: &ReporterOptions,
    cancel: &CancellationToken,
    backoff: &mut Backoff,
    flush_deadline: Option<tokio::time::Instant>,
) -> Result<SessionEnd, connect::ConnectError> {
    let channel = opts.endpoint.connect().await?;
    let mut client = UsageReportingClient::with_interceptor(channel, opts.endpoint.auth());
    let (tx, rx) = mpsc::channel::<UsageBatch>(64);
    let send = |id: u64, records: &Vec<UsageRecord>| UsageBatch {
        batch_id: id,
        node_id: opts.node_id.clone(),
        records: records.clone(),
    };
    let mut acks = client
        .report_usage(ReceiverStream::new(rx))
        .await?
        .into_inner();
    backoff.reset();
    // Replay before anything new, in order.
    if !buffers.unacked.is_empty() {
        info!(
            batches = buffers.unacked.len(),
            "usage: resending unacknowledged batches"
        );
    }
    for (id, batch) in &buffers.unacked {
        if tx.send(send(*id, batch)).await.is_err() {
            return Ok(SessionEnd::Closed);
        }
    }
    let mut tick = tokio::time::interval(opts.batch_age);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if flush_deadline.is_some() {
            if let Some(id) = buffers.cut(opts.batch_size) {
                if let Some(batch) = buffers.unacked.get(&id)
                    && tx.send(send(id, batch)).await.is_err()
                {
                    return Ok(SessionEnd::Closed);
                }
                continue;
            }
            if buffers.is_empty() {
                return Ok(SessionEnd::Drained);
            }
        }
        tokio::select! {
            _ = cancel.cancelled(), if flush_deadline.is_none() => return Ok(SessionEnd::Cancelled),
            _ = async { if let Some(d) = flush_deadline { tokio::time::sleep_until(d).await } else { std::future::pending::<()>().await } } => {
                return Ok(SessionEnd::Closed);
            }
            r = records.recv(), if flush_deadline.is_none() => match r {
                Some(r) => {
                    buffers.push(r);
                    if buffers.pending.len() >= opts.batch_size
                        && let Some(id) = buffers.cut(opts.batch_size)
                            && let Some(batch) = buffers.unacked.get(&id)
                                && tx.send(send(id, batch)).await.is_err() {
                                    return Ok(SessionEnd::Closed);
                                }
                }
                None => return Ok(SessionEnd::Cancelled),
            },
            _ = tick.tick(), if flush_deadline.is_none() => {
                if let Some(id) = buffers.cut(opts.batch_size)
                    && let Some(batch) = buffers.unacked.get(&id)
                        && tx.send(send(id, batch)).await.is_err() {
                            return Ok(SessionEnd::Closed);
                        }
            }
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    buffers.unacked.remove(&ack.batch_id);
                }
                Ok(None) => return Ok(SessionEnd::Closed),
                Err(status) => return Err(status.into()),
            },
        }
    }
}
