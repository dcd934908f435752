//! Delivers usage records to the control plane, losing none.
//!
//! Records are batched (by size or age) and each batch stays until the
//! control plane acknowledges it. After a reconnect every unacknowledged
//! batch is sent again; the control plane stores by request id, so a batch
//! that was stored but whose ack was lost is not counted twice.
//!
//! Memory is bounded by `max_buffered` records. Past it, records go to the
//! spill directory ([`super::spill`]) and are replayed from there, oldest
//! first, once the control plane answers; a file is deleted when its batch
//! is acknowledged. On shutdown everything is sent and acknowledged within
//! `flush_timeout`; what is not is written to the spill directory, which the
//! next start delivers. Records are dropped (and counted) only if the disk
//! refuses them too.
//!
//! Every record is also appended to the journal ([`super::journal`]) when
//! the reporter receives it, and released from it once acknowledged or
//! spilled: a run killed without its shutdown path loses none.

use super::journal::{Journal, Segments};
use super::spill::Spill;
use crate::sync::{Backoff, connect};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
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
    /// Records kept in memory (pending and unacknowledged) before spilling.
    pub max_buffered: usize,
    /// How long shutdown waits for the last acks.
    pub flush_timeout: Duration,
    /// Where records past `max_buffered` (and those not delivered at
    /// shutdown) are kept.
    pub spill_dir: PathBuf,
    /// Where every record is journaled until acknowledged; `None`: no
    /// journal (a kill loses what is in memory).
    pub journal_dir: Option<PathBuf>,
}

struct Batch {
    records: Vec<UsageRecord>,
    /// The spill file holding these records, deleted on ack.
    spill: Option<u64>,
    /// The journal segments holding these records, released on ack.
    journal: Segments,
}

struct Buffers {
    pending: VecDeque<UsageRecord>,
    unacked: BTreeMap<u64, Batch>,
    next_batch: u64,
    dropped: u64,
    max_buffered: usize,
    /// `None` when the spill directory cannot be used: then the oldest
    /// records are dropped past the bound, as a last resort.
    spill: Option<Spill>,
    /// Spill files currently loaded as unacked batches.
    loaded: BTreeSet<u64>,
    journal: Option<Journal>,
    /// The journal segment of each pending record, in order.
    pending_journal: Segments,
}

impl Buffers {
    fn new(max_buffered: usize, spill: Option<Spill>) -> Buffers {
        Buffers {
            pending: VecDeque::new(),
            unacked: BTreeMap::new(),
            next_batch: 1,
            dropped: 0,
            max_buffered: max_buffered.max(1),
            spill,
            loaded: BTreeSet::new(),
            journal: None,
            pending_journal: Segments::default(),
        }
    }

    fn with_journal(mut self, journal: Option<Journal>) -> Buffers {
        self.journal = journal;
        self
    }

    fn release(&mut self, segments: Segments) {
        if let Some(journal) = self.journal.as_mut() {
            segments.release_into(journal);
        }
    }

    fn in_memory(&self) -> usize {
        self.pending.len()
            + self
                .unacked
                .values()
                .map(|b| b.records.len())
                .sum::<usize>()
    }

    fn push(&mut self, record: UsageRecord) {
        if self.in_memory() >= self.max_buffered {
            // Spilling writes and fsyncs a file: on a multi-threaded runtime,
            // let the other tasks of this worker (requests) move elsewhere
            // meanwhile instead of stalling behind the disk.
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread {
                tokio::task::block_in_place(|| self.make_room());
            } else {
                self.make_room();
            }
        }
        if self.in_memory() >= self.max_buffered {
            self.pending.pop_front();
            let gone = self.pending_journal.take(1);
            self.release(gone);
            self.dropped += 1;
            if self.dropped == 1 || self.dropped.is_multiple_of(1000) {
                warn!(
                    dropped = self.dropped,
                    "usage buffer full and the spill directory unusable: usage records dropped"
                );
            }
        }
        if let Some(journal) = self.journal.as_mut() {
            // Segment 0 = not journaled (the disk refused it): still
            // delivered from memory, as without a journal.
            let segment = journal.append(&record).unwrap_or_else(|e| {
                warn!("cannot journal a usage record: {e}");
                0
            });
            self.pending_journal.push(segment);
        }
        self.pending.push_back(record);
    }

    /// Frees memory by moving records to disk: pending ones first, then
    /// unacknowledged batches (resent from their file; the control plane
    /// dedupes if the first send was stored), then batches loaded from
    /// spill files (still on disk: just forgotten until reloaded).
    fn make_room(&mut self) {
        if self.spill.is_none() {
            return;
        }
        if !self.pending.is_empty() {
            let records: Vec<_> = self.pending.iter().cloned().collect();
            match self.write_spill(&records) {
                Ok(seq) => {
                    debug!(
                        file = seq,
                        records = records.len(),
                        "usage: spilled to disk"
                    );
                    self.pending.clear();
                    let spilled = std::mem::take(&mut self.pending_journal);
                    self.release(spilled);
                }
                Err(e) => {
                    warn!("cannot spill usage records to disk: {e}");
                    return;
                }
            }
        }
        let in_memory: Vec<u64> = self
            .unacked
            .iter()
            .filter(|(_, b)| b.spill.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in in_memory {
            if self.in_memory() < self.max_buffered {
                return;
            }
            let Some(batch) = self.unacked.get(&id) else {
                continue;
            };
            let records = batch.records.clone();
            match self.write_spill(&records) {
                Ok(_) => {
                    if let Some(batch) = self.unacked.remove(&id) {
                        self.release(batch.journal);
                    }
                }
                Err(e) => {
                    warn!("cannot spill usage records to disk: {e}");
                    return;
                }
            }
        }
        let from_disk: Vec<(u64, u64)> = self
            .unacked
            .iter()
            .filter_map(|(id, b)| b.spill.map(|seq| (*id, seq)))
            .collect();
        for (id, seq) in from_disk {
            if self.in_memory() < self.max_buffered {
                return;
            }
            self.unacked.remove(&id);
            self.loaded.remove(&seq);
        }
    }

    fn write_spill(&mut self, records: &[UsageRecord]) -> std::io::Result<u64> {
        match self.spill.as_mut() {
            Some(spill) => spill.write(records),
            None => Err(std::io::Error::other("no spill directory")),
        }
    }

    /// Moves up to `size` pending records into a new unacked batch.
    fn cut(&mut self, size: usize) -> Option<u64> {
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(size);
        let records: Vec<_> = self.pending.drain(..n).collect();
        let journal = self.pending_journal.take(n);
        Some(self.add_batch(records, None, journal))
    }

    fn add_batch(
        &mut self,
        records: Vec<UsageRecord>,
        spill: Option<u64>,
        journal: Segments,
    ) -> u64 {
        let id = self.next_batch;
        self.next_batch += 1;
        self.unacked.insert(
            id,
            Batch {
                records,
                spill,
                journal,
            },
        );
        id
    }

    /// Loads spill files not yet in flight, oldest first, while memory
    /// allows (always one when none is in flight, so the backlog moves).
    /// Returns the new batch ids, to be sent in order.
    fn load_spilled(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        let Some(spill) = self.spill.as_ref() else {
            return ids;
        };
        let waiting: Vec<u64> = spill.files().filter(|s| !self.loaded.contains(s)).collect();
        let mut loads = Vec::new();
        let mut room = self.max_buffered.saturating_sub(self.in_memory());
        for seq in waiting {
            if !(self.loaded.is_empty() && loads.is_empty()) && room == 0 {
                break;
            }
            match spill.read(seq) {
                Ok(records) => {
                    room = room.saturating_sub(records.len());
                    loads.push((seq, records));
                }
                Err(e) => warn!("cannot read usage spill file {seq}: {e}"),
            }
        }
        for (seq, records) in loads {
            self.loaded.insert(seq);
            if records.is_empty() {
                // Nothing readable left in it (a crash before any whole line).
                if let Some(spill) = self.spill.as_mut() {
                    spill.remove(seq);
                }
                self.loaded.remove(&seq);
                continue;
            }
            ids.push(self.add_batch(records, Some(seq), Segments::default()));
        }
        ids
    }

    fn acked(&mut self, id: u64) {
        let Some(batch) = self.unacked.remove(&id) else {
            return;
        };
        self.release(batch.journal);
        if let Some(seq) = batch.spill {
            self.loaded.remove(&seq);
            if let Some(spill) = self.spill.as_mut() {
                spill.remove(seq);
            }
        }
    }

    /// Shutdown without the last acks: every record only in memory goes to
    /// disk for the next start. Returns how many could not be saved.
    fn save_for_next_start(&mut self) -> usize {
        let mut records: Vec<UsageRecord> = Vec::new();
        let mut journaled = Vec::new();
        for batch in self.unacked.values_mut() {
            if batch.spill.is_none() {
                records.append(&mut batch.records);
                journaled.push(std::mem::take(&mut batch.journal));
            }
        }
        records.extend(self.pending.drain(..));
        journaled.push(std::mem::take(&mut self.pending_journal));
        if records.is_empty() {
            return 0;
        }
        match self.spill.as_mut().map(|s| s.write(&records)) {
            Some(Ok(_)) => {
                // Safe in the spill directory: the journal may let them go.
                // (Unsaved ones stay journaled for the next start.)
                for segments in journaled {
                    self.release(segments);
                }
                info!(
                    records = records.len(),
                    "shutdown: usage records saved to disk for the next start"
                );
                0
            }
            Some(Err(e)) => {
                warn!("shutdown: cannot save usage records to disk: {e}");
                records.len()
            }
            None => records.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty()
            && self.unacked.is_empty()
            && self.spill.as_ref().is_none_or(Spill::is_empty)
    }
}

/// Runs until `cancel` fires, then flushes for up to `flush_timeout`.
pub async fn run(
    mut records: mpsc::Receiver<UsageRecord>,
    opts: ReporterOptions,
    cancel: CancellationToken,
) {
    let spill = match Spill::open(&opts.spill_dir) {
        Ok(spill) => {
            let waiting = spill.files().count();
            if waiting > 0 {
                info!(
                    files = waiting,
                    "usage: records saved on disk will be delivered first"
                );
            }
            Some(spill)
        }
        Err(e) => {
            warn!(
                "usage spill directory {} unusable ({e}); records past the memory bound will be dropped",
                opts.spill_dir.display()
            );
            None
        }
    };
    let journal = match (&opts.journal_dir, spill) {
        (Some(dir), Some(mut spill)) => match Journal::open(dir, &mut spill) {
            Ok(journal) => (Some(journal), Some(spill)),
            Err(e) => {
                warn!(
                    "usage journal {} unusable ({e}); a kill loses the records in memory",
                    dir.display()
                );
                (None, Some(spill))
            }
        },
        (_, spill) => (None, spill),
    };
    let (journal, spill) = journal;
    let mut buffers = Buffers::new(opts.max_buffered, spill).with_journal(journal);
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
            let lost = buffers.save_for_next_start();
            if lost > 0 {
                warn!(lost, "shutdown: usage records lost");
            }
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
    let batch = |buffers: &Buffers, id: u64| {
        buffers.unacked.get(&id).map(|b| UsageBatch {
            batch_id: id,
            node_id: opts.node_id.clone(),
            records: b.records.clone(),
        })
    };
    let mut acks = client
        .report_usage(ReceiverStream::new(rx))
        .await?
        .into_inner();
    backoff.reset();
    // Replay before anything new, in order: what was in flight, then what
    // waits on disk.
    if !buffers.unacked.is_empty() {
        info!(
            batches = buffers.unacked.len(),
            "usage: resending unacknowledged batches"
        );
    }
    let mut replay: Vec<u64> = buffers.unacked.keys().copied().collect();
    replay.extend(buffers.load_spilled());
    for id in replay {
        if let Some(b) = batch(buffers, id)
            && tx.send(b).await.is_err()
        {
            return Ok(SessionEnd::Closed);
        }
    }
    let mut tick = tokio::time::interval(opts.batch_age);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if flush_deadline.is_some() {
            if let Some(id) = buffers.cut(opts.batch_size) {
                if let Some(b) = batch(buffers, id)
                    && tx.send(b).await.is_err()
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
                        && let Some(b) = batch(buffers, id)
                        && tx.send(b).await.is_err()
                    {
                        return Ok(SessionEnd::Closed);
                    }
                }
                None => return Ok(SessionEnd::Cancelled),
            },
            _ = tick.tick(), if flush_deadline.is_none() => {
                if let Some(id) = buffers.cut(opts.batch_size)
                    && let Some(b) = batch(buffers, id)
                    && tx.send(b).await.is_err()
                {
                    return Ok(SessionEnd::Closed);
                }
            }
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    buffers.acked(ack.batch_id);
                    // The backlog on disk moves as acks free memory.
                    for id in buffers.load_spilled() {
                        if let Some(b) = batch(buffers, id)
                            && tx.send(b).await.is_err()
                        {
                            return Ok(SessionEnd::Closed);
                        }
                    }
                }
                Ok(None) => return Ok(SessionEnd::Closed),
                Err(status) => return Err(status.into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> UsageRecord {
        UsageRecord {
            request_id: format!("req-{i}"),
            ..UsageRecord::default()
        }
    }

    fn ids(buffers: &Buffers, batch: u64) -> Vec<String> {
        buffers.unacked[&batch]
            .records
            .iter()
            .map(|r| r.request_id.clone())
            .collect()
    }

    #[test]
    fn past_the_bound_records_spill_and_replay_in_order_until_acked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut buffers = Buffers::new(3, Some(Spill::open(dir.path()).expect("spill")));
        for i in 0..10 {
            buffers.push(record(i));
        }
        // Memory holds at most the bound; the rest is on disk, nothing dropped.
        assert!(buffers.in_memory() <= 3);
        assert_eq!(buffers.dropped, 0);
        let on_disk = buffers.spill.as_ref().expect("spill").files().count();
        assert_eq!(on_disk, 3, "three spills of three records");

        // Reconnected: disk first (oldest file first), then what is pending.
        let mut delivered = Vec::new();
        loop {
            let mut sent = buffers.load_spilled();
            if sent.is_empty() {
                sent.extend(buffers.cut(100));
            }
            if sent.is_empty() {
                break;
            }
            for id in sent {
                delivered.extend(ids(&buffers, id));
                buffers.acked(id);
            }
        }
        let expected: Vec<String> = (0..10).map(|i| format!("req-{i}")).collect();
        assert_eq!(delivered, expected);
        assert!(buffers.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn unacked_batches_survive_a_restart_through_the_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut buffers = Buffers::new(100, Some(Spill::open(dir.path()).expect("spill")));
        for i in 0..5 {
            buffers.push(record(i));
        }
        let sent = buffers.cut(2).expect("batch");
        assert_eq!(ids(&buffers, sent), ["req-0", "req-1"]);
        // Shutdown before the ack: everything still in memory is saved.
        assert_eq!(buffers.save_for_next_start(), 0);
        drop(buffers);

        let mut next = Buffers::new(100, Some(Spill::open(dir.path()).expect("spill")));
        let replay = next.load_spilled();
        assert_eq!(replay.len(), 1);
        assert_eq!(
            ids(&next, replay[0]),
            ["req-0", "req-1", "req-2", "req-3", "req-4"]
        );
        // An ack for a batch of the previous run is not this one's.
        next.acked(replay[0] + 1);
        assert!(!next.is_empty());
        next.acked(replay[0]);
        assert!(next.is_empty());
    }

    #[test]
    fn a_loaded_file_is_not_sent_twice_while_in_flight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut buffers = Buffers::new(2, Some(Spill::open(dir.path()).expect("spill")));
        for i in 0..6 {
            buffers.push(record(i));
        }
        let first = buffers.load_spilled();
        assert_eq!(first.len(), 1, "memory allows one file in flight");
        assert!(buffers.load_spilled().is_empty());
        buffers.acked(first[0]);
        assert_eq!(buffers.load_spilled().len(), 1);
    }

    #[test]
    fn without_a_spill_directory_the_oldest_are_dropped_and_counted() {
        let mut buffers = Buffers::new(2, None);
        for i in 0..5 {
            buffers.push(record(i));
        }
        assert_eq!(buffers.dropped, 3);
        let id = buffers.cut(10).expect("batch");
        assert_eq!(ids(&buffers, id), ["req-3", "req-4"]);
    }
}
