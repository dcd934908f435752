//! The snapshot's wire payload (`PAYLOAD_FORMAT_FRAMED_V2`): a magic, then
//! frames of `tag (1 byte) | length (u32 LE) | bytes`.
//!
//! A full snapshot is one config frame (`C`: the JSON of the snapshot
//! without its directory) and one frame per directory entry (`K`ey, `T`eam,
//! `U`ser, `E`nd user: the entry's JSON). A delta has no config frame: it
//! carries upserted entries and removals (the lower-case tags, whose bytes
//! are the entry's id). Entries travel as their own byte strings so both
//! planes hash exactly the bytes that were sent, one entry at a time
//! (`digest.rs`), and the control plane builds a full payload by
//! concatenation instead of re-encoding 100,000 keys.

use super::digest::EntryKind;

pub const MAGIC: &[u8; 4] = b"TGS2";
const CONFIG: u8 = b'C';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    Config(&'a [u8]),
    Upsert(EntryKind, &'a [u8]),
    Remove(EntryKind, &'a str),
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("the payload does not start with the snapshot magic")]
    Magic,
    #[error("frame at byte {offset} is cut short")]
    Truncated { offset: usize },
    #[error("frame at byte {offset} has unknown tag {tag:#04x}")]
    UnknownTag { offset: usize, tag: u8 },
    #[error("removal at byte {offset} names an id that is not UTF-8")]
    BadId { offset: usize },
}

fn kind_of(tag: u8) -> Option<(EntryKind, bool)> {
    EntryKind::ALL.into_iter().find_map(|k| {
        if k.tag() == tag {
            Some((k, true))
        } else if k.tag().to_ascii_lowercase() == tag {
            Some((k, false))
        } else {
            None
        }
    })
}

/// Splits a payload into frames; never panics, whatever the bytes.
pub fn frames(payload: &[u8]) -> Result<Vec<Frame<'_>>, WireError> {
    let rest = payload.strip_prefix(MAGIC).ok_or(WireError::Magic)?;
    let mut out = Vec::new();
    let mut offset = MAGIC.len();
    let mut rest = rest;
    while let Some((&tag, after_tag)) = rest.split_first() {
        let truncated = WireError::Truncated { offset };
        let (len, after_len) = after_tag.split_at_checked(4).ok_or(truncated.clone())?;
        let mut le = [0u8; 4];
        le.copy_from_slice(len);
        let len = usize::try_from(u32::from_le_bytes(le)).map_err(|_| truncated.clone())?;
        let (bytes, next) = after_len.split_at_checked(len).ok_or(truncated)?;
        let frame = if tag == CONFIG {
            Frame::Config(bytes)
        } else {
            match kind_of(tag) {
                Some((kind, true)) => Frame::Upsert(kind, bytes),
                Some((kind, false)) => Frame::Remove(
                    kind,
                    std::str::from_utf8(bytes).map_err(|_| WireError::BadId { offset })?,
                ),
                None => return Err(WireError::UnknownTag { offset, tag }),
            }
        };
        out.push(frame);
        offset += 5 + len;
        rest = next;
    }
    Ok(out)
}

/// Builds a payload frame by frame.
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes + MAGIC.len());
        buf.extend_from_slice(MAGIC);
        Self { buf }
    }

    fn frame(&mut self, tag: u8, bytes: &[u8]) {
        // Entries are a few hundred bytes and configs a few MiB, and a
        // snapshot message is capped at 512 MiB: a frame cannot reach 4 GiB.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.buf.push(tag);
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(bytes);
    }

    pub fn config(&mut self, bytes: &[u8]) {
        self.frame(CONFIG, bytes);
    }

    pub fn upsert(&mut self, kind: EntryKind, bytes: &[u8]) {
        self.frame(kind.tag(), bytes);
    }

    pub fn remove(&mut self, kind: EntryKind, id: &str) {
        self.frame(kind.tag().to_ascii_lowercase(), id.as_bytes());
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The size of a frame holding `bytes`.
pub fn frame_len(bytes: usize) -> usize {
    5 + bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let mut w = Writer::with_capacity(0);
        w.config(b"{}");
        w.upsert(EntryKind::Key, b"{\"k\":1}");
        w.remove(EntryKind::Team, "t-1");
        let payload = w.finish();
        assert_eq!(
            frames(&payload).expect("valid"),
            vec![
                Frame::Config(b"{}"),
                Frame::Upsert(EntryKind::Key, b"{\"k\":1}"),
                Frame::Remove(EntryKind::Team, "t-1"),
            ]
        );
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert_eq!(frames(b"{\"json\":1}"), Err(WireError::Magic));
        assert_eq!(
            frames(b"TGS2C\x05\x00\x00\x00ab"),
            Err(WireError::Truncated { offset: 4 })
        );
        assert_eq!(
            frames(b"TGS2Z\x00\x00\x00\x00"),
            Err(WireError::UnknownTag {
                offset: 4,
                tag: b'Z'
            })
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut payload = MAGIC.to_vec();
            payload.extend_from_slice(&bytes);
            let _ = frames(&payload);
            let _ = frames(&bytes);
        }

        #[test]
        fn every_written_frame_reads_back(entries in proptest::collection::vec((0usize..4, proptest::collection::vec(any::<u8>(), 0..64)), 0..16)) {
            let mut w = Writer::with_capacity(0);
            for (k, bytes) in &entries {
                w.upsert(EntryKind::ALL[*k], bytes);
            }
            let payload = w.finish();
            let read = frames(&payload).expect("valid");
            prop_assert_eq!(read.len(), entries.len());
            for (frame, (k, bytes)) in read.iter().zip(&entries) {
                prop_assert_eq!(*frame, Frame::Upsert(EntryKind::ALL[*k], bytes.as_slice()));
            }
        }
    }
}
