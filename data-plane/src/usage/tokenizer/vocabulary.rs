//! A BPE vocabulary as one embedded byte string and two flat indexes.
//!
//! tiktoken's own representation is three maps of 200,000 `Vec<u8>` each
//! (encoder, decoder, sorted tokens): 27 MB of heap in 600,000 allocations
//! for o200k, measured (docs/PERFORMANCE.md). Counting needs only "what is
//! the rank of these bytes", so here the tokens stay where the binary keeps
//! them (`assets/tokenizer/*.vocab`: per rank, a length byte and the bytes)
//! and the heap holds where each starts (4 bytes a rank) and an
//! open-addressing table of ranks (a power of two of at least twice the
//! ranks, 4 bytes a slot): 0.8 + 2.1 MB for o200k, in two allocations.

/// Why an embedded vocabulary was refused: only a corrupted build can get
/// here, and the caller falls back to an estimate.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    #[error("the vocabulary ends inside its token {rank}")]
    Truncated { rank: usize },
    #[error("the vocabulary's token {rank} is empty")]
    Empty { rank: usize },
    #[error("the vocabulary repeats its token {rank}")]
    Repeated { rank: usize },
}

pub struct Vocabulary {
    bytes: &'static [u8],
    /// Offset of each rank's length byte in `bytes`.
    starts: Vec<u32>,
    /// `rank + 1` by hash of the token's bytes, 0 where empty; a power of two
    /// at least twice the vocabulary, so probes stay short.
    table: Vec<u32>,
}

impl Vocabulary {
    pub fn parse(bytes: &'static [u8]) -> Result<Self, VocabularyError> {
        // Two passes, so `starts` is allocated once at its size (a growing
        // vector would leave its earlier buffers to the allocator).
        let mut ranks = 0;
        let mut at = 0usize;
        while at < bytes.len() {
            let len = usize::from(bytes[at]);
            if len == 0 {
                return Err(VocabularyError::Empty { rank: ranks });
            }
            if at + 1 + len > bytes.len() {
                return Err(VocabularyError::Truncated { rank: ranks });
            }
            ranks += 1;
            at += 1 + len;
        }
        let mut starts = Vec::with_capacity(ranks);
        let mut at = 0usize;
        while at < bytes.len() {
            // The format's length byte bounds a token at 255 bytes and the
            // files are a few MB: offsets fit in u32.
            starts.push(at as u32);
            at += 1 + usize::from(bytes[at]);
        }
        let size = (starts.len() * 2).next_power_of_two().max(2);
        let mut vocabulary = Vocabulary {
            bytes,
            starts,
            table: vec![0; size],
        };
        for rank in 0..vocabulary.starts.len() {
            let token = vocabulary.token(rank as u32);
            let mut slot = vocabulary.slot_of(token);
            loop {
                match vocabulary.table[slot] {
                    0 => break,
                    r if vocabulary.token(r - 1) == token => {
                        return Err(VocabularyError::Repeated { rank });
                    }
                    _ => slot = (slot + 1) & (size - 1),
                }
            }
            vocabulary.table[slot] = rank as u32 + 1;
        }
        Ok(vocabulary)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The bytes of `rank`; `rank` must be below `len()`.
    pub fn token(&self, rank: u32) -> &'static [u8] {
        let bytes: &'static [u8] = self.bytes;
        let at = self.starts[rank as usize] as usize;
        let len = usize::from(bytes[at]);
        &bytes[at + 1..at + 1 + len]
    }

    /// The rank of exactly these bytes, if they are a token.
    pub fn rank(&self, piece: &[u8]) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut slot = self.slot_of(piece);
        loop {
            match self.table[slot] {
                0 => return None,
                r if self.token(r - 1) == piece => return Some(r - 1),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn slot_of(&self, piece: &[u8]) -> usize {
        (hash(piece) as usize) & (self.table.len() - 1)
    }
}

/// FxHash's mixing over 8-byte words, then a final avalanche so the low bits
/// (the slot) depend on every byte.
fn hash(piece: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = piece.len() as u64;
    let mut words = piece.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_tokens_round_trip() {
        static BYTES: &[u8] = b"\x01a\x01b\x02ab\x03abc";
        let v = Vocabulary::parse(BYTES).expect("parses");
        assert_eq!(v.len(), 4);
        assert_eq!(v.token(2), b"ab");
        assert_eq!(v.rank(b"abc"), Some(3));
        assert_eq!(v.rank(b"a"), Some(0));
        assert_eq!(v.rank(b"ba"), None);
        assert_eq!(v.rank(b""), None);
    }

    #[test]
    fn corrupt_vocabularies_are_refused() {
        assert!(matches!(
            Vocabulary::parse(b"\x01a\x03ab"),
            Err(VocabularyError::Truncated { rank: 1 })
        ));
        assert!(matches!(
            Vocabulary::parse(b"\x01a\x00"),
            Err(VocabularyError::Empty { rank: 1 })
        ));
        assert!(matches!(
            Vocabulary::parse(b"\x01a\x01a"),
            Err(VocabularyError::Repeated { rank: 1 })
        ));
    }
}
