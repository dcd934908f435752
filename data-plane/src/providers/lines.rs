//! Bytes in, whole lines out, whatever the chunk boundaries: the splitting
//! shared by the line-based stream decoders (Gemini's SSE, Ollama's NDJSON).
//! A line is handed on only when whole, so a UTF-8 character split across
//! chunks is never mangled.

#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Feeds bytes; calls `line` with every line they complete (without
    /// its `\n`).
    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&[u8])) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(offset) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + offset;
            line(&self.pending[start..end]);
            start = end + 1;
        }
        self.pending.drain(..start);
    }

    /// The end of the body: what follows the last `\n` (empty if nothing).
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line and the trailing rest, for `bytes` fed in the pieces
    /// `cuts` makes.
    fn split(bytes: &[u8], cuts: &[prop::sample::Index]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut lines = Lines::default();
        let mut out = Vec::new();
        let mut start = 0;
        for end in at.into_iter().chain(std::iter::once(bytes.len())) {
            lines.push(&bytes[start..end], |l| out.push(l.to_vec()));
            start = end;
        }
        (out, lines.finish())
    }

    #[test]
    fn lines_keep_their_bytes_and_the_rest_is_kept() {
        let (lines, rest) = split(b"a\n\nb\xc3\xa9\nrest", &[]);
        assert_eq!(
            lines,
            vec![b"a".to_vec(), b"".to_vec(), b"b\xc3\xa9".to_vec()]
        );
        assert_eq!(rest, b"rest");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let mut lines = Lines::default();
            for chunk in &chunks {
                lines.push(chunk, |_| {});
            }
            let _ = lines.finish();
        }

        #[test]
        fn any_chunking_yields_the_same_lines(
            bytes in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..256),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let whole = split(&bytes, &[]);
            prop_assert_eq!(split(&bytes, &cuts), whole.clone());
            // Nothing is lost or invented: lines, their `\n`s and the rest
            // are the input.
            let mut joined: Vec<u8> = whole.0.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
            joined.extend_from_slice(&whole.1);
            prop_assert_eq!(joined, bytes);
        }
    }
}
