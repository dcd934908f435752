//! The delta journal beside the base snapshot: every delta applied since
//! the base was written, appended as it is applied.
//!
//! Rewriting a 100,000-key snapshot (tens of MiB) after every key change
//! cost each data plane a copy, a write and an fsync per change, and the
//! fleet-wide apply of the next write waited behind them. An append of the
//! delta's own bytes (about a kilobyte) costs nothing comparable; the base
//! is rewritten only when the journal has grown to a fraction of it
//! (`Disk::compact`).
//!
//! Record: `u32` LE length + JSON metadata, `u32` LE length + the delta
//! payload exactly as received. Replay checks each delta's base hash and
//! resulting hash like a live apply, so a torn tail (a crash mid-append), a
//! stale record or a gap simply ends the replay: the data plane serves the
//! last state that verified and the control plane brings it up to date.

use super::DiskError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// A delta as it arrived, enough to apply it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u64,
    pub content_hash: String,
    pub base_version: u64,
    pub base_hash: String,
    pub format: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub meta: Meta,
    pub payload: Vec<u8>,
}

/// The largest part a record may declare: a corrupt length must not make
/// the loader allocate gigabytes.
const MAX_PART: usize = 256 * 1024 * 1024;

pub fn encode(meta: &Meta, payload: &[u8]) -> Vec<u8> {
    // Serializing plain strings and integers cannot fail.
    let meta = serde_json::to_vec(meta).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + meta.len() + payload.len());
    for part in [meta.as_slice(), payload] {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Every whole record of the journal at `path`, in order; a torn or
/// unreadable tail ends the list. `Ok(empty)` when there is no journal.
pub fn read(path: &Path) -> Result<Vec<Record>, DiskError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DiskError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Ok(decode_all(&bytes))
}

fn decode_all(mut bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let Some((meta, rest)) = part(bytes) else {
            break;
        };
        let Some((payload, rest)) = part(rest) else {
            break;
        };
        let Ok(meta) = serde_json::from_slice::<Meta>(meta) else {
            break;
        };
        records.push(Record {
            meta,
            payload: payload.to_vec(),
        });
        bytes = rest;
    }
    records
}

fn part(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_PART || rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// Opens the journal for appending (created 0600: deltas carry keys'
/// hashes and provider settings, like the base).
pub fn open_append(path: &Path) -> Result<std::fs::File, DiskError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| DiskError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces the journal at `path` with `bytes`, atomically.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), DiskError> {
    let tmp = path.with_extension("log.tmp");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DiskError::Io { path: p, source }
    };
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(version: u64) -> Meta {
        Meta {
            version,
            content_hash: format!("h{version}"),
            base_version: version - 1,
            base_hash: format!("h{}", version - 1),
            format: 2,
        }
    }

    #[test]
    fn records_round_trip_in_order() {
        let mut bytes = encode(&meta(2), b"two");
        bytes.extend(encode(&meta(3), b""));
        let records = decode_all(&bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].meta.version, records[0].payload.as_slice()),
            (2, &b"two"[..])
        );
        assert_eq!((records[1].meta.version, records[1].payload.len()), (3, 0));
    }

    #[test]
    fn a_torn_tail_ends_the_list_without_an_error() {
        let mut bytes = encode(&meta(2), b"two");
        let whole = bytes.len();
        bytes.extend(encode(&meta(3), b"three"));
        for cut in whole..bytes.len() {
            let records = decode_all(&bytes[..cut]);
            assert_eq!(records.len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn garbage_and_huge_lengths_are_not_records() {
        assert!(decode_all(b"\xff\xff\xff\xffxxxx").is_empty());
        assert!(decode_all(b"\x03\x00\x00\x00abc\x00\x00\x00\x00").is_empty());
    }
}
