//! An incremental newline-delimited JSON splitter: bytes in, whole lines
//! out, whatever the chunk boundaries (a line split across chunks, or many
//! lines in one chunk).

use crate::providers::lines::Lines;

#[derive(Debug, Default)]
pub struct NdjsonDecoder {
    lines: Lines,
}

impl NdjsonDecoder {
    /// Feeds bytes; returns every non-blank line they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        self.lines.push(bytes, |line| push_line(line, &mut lines));
        lines
    }

    /// The end of the body: a last line without a newline still counts.
    pub fn finish(&mut self) -> Option<String> {
        let rest = self.lines.finish();
        let mut lines = Vec::new();
        push_line(&rest, &mut lines);
        lines.pop()
    }
}

fn push_line(line: &[u8], lines: &mut Vec<String>) {
    // Decoded only when whole, so a character split across chunks survives.
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    if !line.is_empty() {
        lines.push(line.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = NdjsonDecoder::default();
        let mut out: Vec<String> = chunks.iter().flat_map(|c| decoder.push(c)).collect();
        out.extend(decoder.finish());
        out
    }

    #[test]
    fn splits_lines_across_and_within_chunks() {
        assert_eq!(
            decode_all(&[b"{\"a\":1}\n{\"b\"", b":2}\r\n\n{\"c\":3}"]),
            ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                        cut in 0usize..512) {
            let cut = cut.min(bytes.len());
            let _ = decode_all(&[&bytes[..cut], &bytes[cut..]]);
        }

        #[test]
        fn splitting_never_changes_lines(
            lines in proptest::collection::vec("[a-zé{}\":,0-9]{1,40}", 1..6),
            final_newline in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut body = lines.join("\n");
            if final_newline {
                body.push('\n');
            }
            let bytes = body.as_bytes();
            let whole = decode_all(&[bytes]);
            prop_assert_eq!(&whole, &lines);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&bytes[last..p]);
                last = p;
            }
            chunks.push(&bytes[last..]);
            prop_assert_eq!(decode_all(&chunks), whole);
        }
    }
}
