//! Usage records past the in-memory bound, kept on disk until acknowledged.
//!
//! One file per spilled batch, named by a sequence number so they replay in
//! order, in `<state dir>/usage-spill/`. A line is one record: the CRC-32 of
//! its bytes (hex), a space, the protobuf record in base64. Files are
//! written once and fsynced (file and directory) before the records leave
//! memory; a file is deleted once its records are acknowledged. A crash
//! mid-write leaves a truncated last line: its checksum fails and it is
//! skipped, the rest of the file is delivered.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tollgate_proto::v1::UsageRecord;
use tracing::warn;

/// Records written to spill files since start (the `tollgate_usage_records_spilled_total` metric).
pub(crate) static SPILLED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

const SUFFIX: &str = ".usage";

pub struct Spill {
    dir: PathBuf,
    /// Sequence number → records in the file.
    files: BTreeMap<u64, usize>,
    next: u64,
}

impl Spill {
    /// Opens `dir` (created if missing) and finds the files a previous run
    /// left there.
    pub fn open(dir: &Path) -> io::Result<Spill> {
        fs::create_dir_all(dir)?;
        let mut files = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            // The count is only a hint for memory accounting; a file is
            // read whole when it is replayed.
            files.insert(seq, 0);
        }
        let next = files.keys().next_back().map_or(1, |last| last + 1);
        Ok(Spill {
            dir: dir.to_path_buf(),
            files,
            next,
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Writes `records` to a new file and syncs it; returns its number.
    pub fn write(&mut self, records: &[UsageRecord]) -> io::Result<u64> {
        let seq = self.next;
        let path = self.path(seq);
        let mut out = Vec::with_capacity(records.len() * 256);
        for record in records {
            encode_line(record, &mut out);
        }
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        file.write_all(&out)?;
        file.sync_all()?;
        // The new name must survive a crash too.
        File::open(&self.dir)?.sync_all()?;
        self.next += 1;
        self.files.insert(seq, records.len());
        SPILLED.fetch_add(records.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(seq)
    }

    /// The records of file `seq`; corrupt or truncated lines are skipped.
    pub fn read(&self, seq: u64) -> io::Result<Vec<UsageRecord>> {
        read_file(&self.path(seq))
    }

    /// Deletes file `seq` (its records were acknowledged).
    pub fn remove(&mut self, seq: u64) {
        self.files.remove(&seq);
        if let Err(e) = fs::remove_file(self.path(seq))
            && e.kind() != io::ErrorKind::NotFound
        {
            warn!("cannot delete usage spill file {seq}: {e}");
        }
    }

    /// File numbers, oldest first.
    pub fn files(&self) -> impl Iterator<Item = u64> + '_ {
        self.files.keys().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One record as a line: CRC-32 (hex), a space, base64 protobuf, newline.
pub(super) fn encode_line(record: &UsageRecord, out: &mut Vec<u8>) {
    let bytes = record.encode_to_vec();
    out.extend_from_slice(format!("{:08x} ", crc32fast::hash(&bytes)).as_bytes());
    out.extend_from_slice(STANDARD.encode(&bytes).as_bytes());
    out.push(b'\n');
}

/// The records of a file of such lines; corrupt or truncated lines are
/// skipped.
pub(super) fn read_file(path: &Path) -> io::Result<Vec<UsageRecord>> {
    let file = File::open(path)?;
    let mut records = Vec::new();
    let mut skipped = 0usize;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        match decode_line(&line) {
            Some(record) => records.push(record),
            None if line.is_empty() => {}
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        warn!(
            file = %path.display(),
            skipped, "usage file: skipped corrupt or truncated lines"
        );
    }
    Ok(records)
}

fn decode_line(line: &[u8]) -> Option<UsageRecord> {
    let (crc, data) = line.split_at_checked(9)?;
    let crc = std::str::from_utf8(crc.get(..8)?).ok()?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    let bytes = STANDARD.decode(data).ok()?;
    if crc32fast::hash(&bytes) != crc {
        return None;
    }
    UsageRecord::decode(bytes.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> UsageRecord {
        UsageRecord {
            request_id: format!("req-{i}"),
            prompt_tokens: i,
            cost_picos: i * 1_000,
            tags: vec!["t".into()],
            ..UsageRecord::default()
        }
    }

    #[test]
    fn written_files_replay_in_order_after_reopen_and_go_when_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spill = Spill::open(dir.path()).expect("open");
        assert!(spill.is_empty());
        let a = spill.write(&[record(1), record(2)]).expect("write");
        let b = spill.write(&[record(3)]).expect("write");
        assert!(a < b);

        // A restart finds both, oldest first, and keeps numbering after them.
        let mut reopened = Spill::open(dir.path()).expect("reopen");
        assert_eq!(reopened.files().collect::<Vec<_>>(), [a, b]);
        assert_eq!(reopened.read(a).expect("read"), [record(1), record(2)]);
        assert_eq!(reopened.read(b).expect("read"), [record(3)]);
        let c = reopened.write(&[record(4)]).expect("write");
        assert!(c > b);

        reopened.remove(a);
        assert_eq!(reopened.files().collect::<Vec<_>>(), [b, c]);
        assert_eq!(
            Spill::open(dir.path())
                .expect("reopen")
                .files()
                .collect::<Vec<_>>(),
            [b, c]
        );
    }

    #[test]
    fn a_truncated_last_line_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spill = Spill::open(dir.path()).expect("open");
        let seq = spill
            .write(&[record(1), record(2), record(3)])
            .expect("write");
        let path = spill.path(seq);
        let full = fs::read(&path).expect("read");
        // Every cut inside the last line (a crash mid-write) keeps the first two.
        let last_start = full[..full.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .expect("newline")
            + 1;
        for cut in last_start..full.len() - 1 {
            fs::write(&path, &full[..cut]).expect("truncate");
            assert_eq!(
                spill.read(seq).expect("read"),
                [record(1), record(2)],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn corrupt_lines_and_foreign_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("notes.txt"), "not a spill file").expect("write");
        let mut spill = Spill::open(dir.path()).expect("open");
        assert!(spill.is_empty());
        let seq = spill.write(&[record(1), record(2)]).expect("write");
        let path = spill.path(seq);
        let text = fs::read_to_string(&path).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(1, "00000000 AAAA");
        lines.insert(1, "garbage");
        fs::write(&path, lines.join("\n")).expect("write");
        assert_eq!(spill.read(seq).expect("read"), [record(1), record(2)]);
    }
}
