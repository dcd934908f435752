//! What a data plane keeps in its state directory so that, restarted while
//! the control plane is down, it still serves (static stability): the base
//! snapshot (`base`) and every delta applied since (`journal`).
//!
//! The sync task writes both, each before the ACK it concerns: a full
//! snapshot becomes the new base (and empties the journal), a delta is
//! appended to the journal. So what an ACK confirms is also what a restart
//! serves, and the ACK of a key change costs an append of about a kilobyte
//! rather than a rewrite of the whole directory. The base is rewritten from
//! what is served (`Disk::compact`) only once the journal outgrows a quarter
//! of it, after the ACK that crossed the line.

mod base;
mod journal;

pub use base::DiskSnapshot;
pub use journal::{Meta as DeltaMeta, Record as DeltaRecord};

use crate::live::LiveState;
use std::io::Write;
use std::path::{Path, PathBuf};

const JOURNAL: &str = "snapshot.log";

/// The journal is compacted into the base once it is larger than this and
/// than a quarter of the base.
const MIN_JOURNAL_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a Tollgate snapshot file")]
    Format { path: PathBuf },
}

/// What a restart finds: the base and the deltas journaled after it, to be
/// replayed in order.
pub struct Saved {
    pub base: DiskSnapshot,
    pub deltas: Vec<DeltaRecord>,
}

/// `Ok(None)` when nothing was saved yet. An unreadable journal is
/// reported and left out: the base alone is still a consistent state.
pub fn load(state_dir: &Path) -> Result<Option<Saved>, DiskError> {
    let Some(base) = base::load(state_dir)? else {
        return Ok(None);
    };
    let deltas = journal::read(&state_dir.join(JOURNAL)).unwrap_or_else(|e| {
        tracing::warn!("ignoring the delta journal: {e}");
        Vec::new()
    });
    Ok(Some(Saved { base, deltas }))
}

/// The state directory's one writer, owned by the sync task: every write
/// happens in the order the control plane's messages were applied.
pub struct Disk {
    dir: PathBuf,
    journal: Option<std::fs::File>,
    journal_bytes: u64,
    base_bytes: u64,
    /// The content hash base + journal amount to; `None` when unknown (a
    /// journal left by an earlier run, a failed write): the next
    /// compaction writes what is served.
    saved_hash: Option<String>,
}

impl Disk {
    /// `served` is what the data plane serves after loading the directory.
    /// A journal left by the previous run is compacted away before the
    /// first append (`needs_compaction`), so appends never follow a torn
    /// or unreplayed record.
    pub fn open(state_dir: &Path, served: Option<&str>) -> Self {
        let len = |name: &str| std::fs::metadata(state_dir.join(name)).map_or(0, |m| m.len());
        let journal_bytes = len(JOURNAL);
        Self {
            dir: state_dir.to_path_buf(),
            journal: None,
            journal_bytes,
            base_bytes: std::fs::metadata(base::path(state_dir)).map_or(0, |m| m.len()),
            saved_hash: served.filter(|_| journal_bytes == 0).map(str::to_string),
        }
    }

    pub fn saved_hash(&self) -> Option<&str> {
        self.saved_hash.as_deref()
    }

    /// A full snapshot becomes the base; the journal (deltas over the old
    /// base) is emptied.
    pub fn save_full(
        &mut self,
        version: u64,
        content_hash: &str,
        payload: &[u8],
    ) -> Result<(), DiskError> {
        self.saved_hash = None;
        base::persist(&self.dir, version, content_hash, payload)?;
        self.base_bytes = payload.len() as u64;
        // Stale records would be skipped on replay (their versions are
        // older than the base), but they would still count towards the
        // next compaction.
        self.journal = None;
        journal::replace(&self.dir.join(JOURNAL), &[])?;
        self.journal_bytes = 0;
        self.saved_hash = Some(content_hash.to_string());
        Ok(())
    }

    /// Appends an applied delta. Not synced: a crashed process loses
    /// nothing (the kernel holds the write); a crashed machine may lose the
    /// last moments, which the control plane resends when it reconnects.
    pub fn append(&mut self, meta: &DeltaMeta, payload: &[u8]) -> Result<(), DiskError> {
        if self.saved_hash.as_deref() != Some(meta.base_hash.as_str()) {
            // The journal does not end where this delta starts (a failed
            // write, a leftover): appending would leave a gap.
            self.saved_hash = None;
            return Ok(());
        }
        let path = self.dir.join(JOURNAL);
        let record = journal::encode(meta, payload);
        let file = match &mut self.journal {
            Some(file) => file,
            None => self.journal.insert(journal::open_append(&path)?),
        };
        if let Err(source) = file.write_all(&record) {
            self.journal = None;
            self.saved_hash = None;
            return Err(DiskError::Io { path, source });
        }
        self.journal_bytes += record.len() as u64;
        self.saved_hash = Some(meta.content_hash.clone());
        Ok(())
    }

    /// The journal has outgrown its base, or the directory does not hold
    /// what is served.
    pub fn needs_compaction(&self, live: &LiveState) -> bool {
        let Some(served) = live.applied() else {
            return false;
        };
        self.saved_hash.as_deref() != Some(served.content_hash.as_str())
            || self.journal_bytes > MIN_JOURNAL_BYTES.max(self.base_bytes / 4)
    }

    /// Writes what is served as the new base and empties the journal.
    pub fn compact(&mut self, live: &LiveState) -> Result<(), DiskError> {
        let Some((version, hash, payload)) = live.saveable() else {
            return Ok(());
        };
        self.save_full(version, &hash, &payload)
    }
}

#[cfg(test)]
mod tests;
