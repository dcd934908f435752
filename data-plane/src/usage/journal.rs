//! The usage journal: every record the reporter receives is appended to a
//! file before it is batched, so a data plane killed with SIGKILL (or
//! crashing) loses no usage of the requests it completed.
//!
//! Segments (`<state dir>/usage-journal/<seq>.journal`) hold up to
//! [`SEGMENT_RECORDS`] records each, in the spill files' line format (CRC,
//! base64 protobuf). Appends are plain `write`s without fsync: the page
//! cache outlives the process, not the machine (a power loss may lose the
//! last records, as the in-memory buffer always did). A segment is deleted
//! once each of its records is acknowledged by the control plane or moved
//! to a spill file. At start, segments a killed run left are copied to the
//! spill directory (fsynced) and deleted: the spill replay delivers them,
//! and the control plane's idempotent ingest stores a replayed record once.

use super::spill::{self, Spill};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tollgate_proto::v1::UsageRecord;
use tracing::{info, warn};

const SUFFIX: &str = ".journal";
pub const SEGMENT_RECORDS: usize = 1000;

pub struct Journal {
    dir: PathBuf,
    /// Segment → records in it not yet acknowledged or spilled.
    outstanding: BTreeMap<u64, usize>,
    /// The segment being appended to, and how many records it has.
    current: Option<(u64, File, usize)>,
    next: u64,
    line: Vec<u8>,
}

impl Journal {
    /// Opens `dir`; what a previous run left there goes to `spill` first.
    pub fn open(dir: &Path, spill: &mut Spill) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let mut left: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if let Some(seq) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            {
                left.push((seq, entry.path()));
            }
        }
        left.sort();
        let mut recovered = 0usize;
        for (_, path) in &left {
            let records = spill::read_file(path)?;
            if !records.is_empty() {
                spill.write(&records)?;
                recovered += records.len();
            }
            fs::remove_file(path)?;
        }
        if recovered > 0 {
            info!(
                records = recovered,
                "usage: records journaled by a run that did not shut down are delivered first"
            );
        }
        Ok(Journal {
            dir: dir.to_path_buf(),
            outstanding: BTreeMap::new(),
            current: None,
            next: left.last().map_or(1, |(seq, _)| seq + 1),
            line: Vec::with_capacity(512),
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Appends one record; returns its segment.
    pub fn append(&mut self, record: &UsageRecord) -> io::Result<u64> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, _, n)| *n >= SEGMENT_RECORDS)
            && let Some((seq, _, _)) = self.current.take()
        {
            self.release(seq, 0);
        }
        if self.current.is_none() {
            let seq = self.next;
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(self.path(seq))?;
            self.next += 1;
            self.current = Some((seq, file, 0));
        }
        self.line.clear();
        spill::encode_line(record, &mut self.line);
        let Some((seq, file, n)) = self.current.as_mut() else {
            return Err(io::Error::other("no journal segment open"));
        };
        // One write per record: a kill leaves at most a truncated last
        // line, which its CRC rejects.
        file.write_all(&self.line)?;
        *n += 1;
        let seq = *seq;
        *self.outstanding.entry(seq).or_insert(0) += 1;
        Ok(seq)
    }

    /// `count` records of `seq` are safe elsewhere (acknowledged or
    /// spilled); a finished segment with none left is deleted.
    pub fn release(&mut self, seq: u64, count: usize) {
        if seq == 0 {
            return; // not journaled
        }
        let left = match self.outstanding.get_mut(&seq) {
            Some(n) => {
                *n = n.saturating_sub(count);
                *n
            }
            None => 0,
        };
        let open = self.current.as_ref().is_some_and(|(s, _, _)| *s == seq);
        if left == 0 && !open {
            self.outstanding.remove(&seq);
            if let Err(e) = fs::remove_file(self.path(seq))
                && e.kind() != io::ErrorKind::NotFound
            {
                warn!("cannot delete usage journal segment {seq}: {e}");
            }
        }
    }

    /// Segments still on disk (tests).
    #[cfg(test)]
    pub fn segments(&self) -> usize {
        fs::read_dir(&self.dir).map_or(0, |d| d.count())
    }
}

impl Drop for Journal {
    /// A clean exit: the open segment goes too if nothing in it is left
    /// (what is left stays for the next start; a kill never gets here).
    fn drop(&mut self) {
        if let Some((seq, _, _)) = self.current.take() {
            self.release(seq, 0);
        }
    }
}

/// Run-length list of journal segments, in record order: which segment
/// each of a sequence of records was journaled in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Segments(std::collections::VecDeque<(u64, usize)>);

impl Segments {
    pub fn push(&mut self, seq: u64) {
        match self.0.back_mut() {
            Some((s, n)) if *s == seq => *n += 1,
            _ => self.0.push_back((seq, 1)),
        }
    }

    /// Takes the segments of the first `count` records.
    pub fn take(&mut self, mut count: usize) -> Segments {
        let mut taken = Segments::default();
        while count > 0 {
            let Some((seq, n)) = self.0.front_mut() else {
                break;
            };
            let k = (*n).min(count);
            taken.0.push_back((*seq, k));
            *n -= k;
            count -= k;
            if *n == 0 {
                self.0.pop_front();
            }
        }
        taken
    }

    pub fn release_into(self, journal: &mut Journal) {
        for (seq, n) in self.0 {
            journal.release(seq, n);
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

    #[test]
    fn what_a_killed_run_journaled_is_spilled_at_the_next_start() {
        let state = tempfile::tempdir().expect("tempdir");
        let (jdir, sdir) = (state.path().join("j"), state.path().join("s"));
        let mut spill = Spill::open(&sdir).expect("spill");
        let mut journal = Journal::open(&jdir, &mut spill).expect("journal");
        let mut segs = Segments::default();
        for i in 0..5 {
            segs.push(journal.append(&record(i)).expect("append"));
        }
        // Two acknowledged; then the process dies (no shutdown path runs).
        segs.take(2).release_into(&mut journal);
        drop(journal);

        let mut spill = Spill::open(&sdir).expect("spill");
        let journal = Journal::open(&jdir, &mut spill).expect("journal");
        assert_eq!(journal.segments(), 0, "recovered segments are deleted");
        let files: Vec<u64> = spill.files().collect();
        assert_eq!(files.len(), 1);
        // The whole segment is replayed (acked ones too: ingest dedupes them).
        let ids: Vec<String> = spill
            .read(files[0])
            .expect("read")
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        assert_eq!(ids, ["req-0", "req-1", "req-2", "req-3", "req-4"]);
    }

    #[test]
    fn a_finished_segment_goes_once_every_record_is_released() {
        let state = tempfile::tempdir().expect("tempdir");
        let mut spill = Spill::open(&state.path().join("s")).expect("spill");
        let mut journal = Journal::open(&state.path().join("j"), &mut spill).expect("journal");
        let mut segs = Segments::default();
        for i in 0..(SEGMENT_RECORDS as u64 + 10) {
            segs.push(journal.append(&record(i)).expect("append"));
        }
        assert_eq!(journal.segments(), 2);
        segs.take(SEGMENT_RECORDS - 1).release_into(&mut journal);
        assert_eq!(
            journal.segments(),
            2,
            "one record of the first is outstanding"
        );
        segs.take(1).release_into(&mut journal);
        assert_eq!(journal.segments(), 1, "the first segment is gone");
        segs.take(10).release_into(&mut journal);
        assert_eq!(
            journal.segments(),
            1,
            "the open segment stays for the next appends"
        );
    }

    #[test]
    fn segments_split_by_record_count() {
        let mut segs = Segments::default();
        for seq in [1, 1, 1, 2, 2, 3] {
            segs.push(seq);
        }
        assert_eq!(segs.take(4), Segments([(1, 3), (2, 1)].into()));
        assert_eq!(segs.take(5), Segments([(2, 1), (3, 1)].into()));
        assert_eq!(segs.take(1), Segments::default());
    }
}
