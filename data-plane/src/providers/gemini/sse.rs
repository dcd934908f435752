//! An incremental server-sent-events decoder: bytes in, whole `data`
//! payloads out, whatever the chunk boundaries (Google ends lines with
//! `\r\n`; `\n` is accepted too).

use crate::providers::lines::Lines;

/// Collects bytes until lines are complete ([`Lines`]), then events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    lines: Lines,
    data: Option<String>,
}

impl SseDecoder {
    /// Feeds bytes; returns the `data` of every event they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        let data = &mut self.data;
        self.lines.push(bytes, |line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Self::line(data, &String::from_utf8_lossy(line), &mut events);
        });
        events
    }

    /// The end of the body: an event not followed by a blank line still
    /// counts (a server may close right after its last `data:` line).
    pub fn finish(&mut self) -> Option<String> {
        let rest = self.lines.finish();
        let mut events = Vec::new();
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(rest.strip_suffix(b"\r").unwrap_or(&rest));
            Self::line(&mut self.data, &line, &mut events);
        }
        events.extend(self.data.take());
        events.into_iter().next()
    }

    fn line(data: &mut Option<String>, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            events.extend(data.take());
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => *data = Some(value.to_string()),
            }
        }
        // Comments (`:`), `event`, `id` and `retry` carry nothing Gemini uses.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = SseDecoder::default();
        let mut out: Vec<String> = chunks.iter().flat_map(|c| decoder.push(c)).collect();
        out.extend(decoder.finish());
        out
    }

    #[test]
    fn decodes_crlf_and_lf_events() {
        let body = b"data: {\"a\":1}\r\n\r\n: comment\ndata: {\"b\":2}\n\ndata: x\ndata: y\n\n";
        assert_eq!(decode_all(&[body]), ["{\"a\":1}", "{\"b\":2}", "x\ny"]);
        assert_eq!(decode_all(&[b"data: last"]), ["last"]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                        cut in 0usize..512) {
            let cut = cut.min(bytes.len());
            let _ = decode_all(&[&bytes[..cut], &bytes[cut..]]);
        }

        #[test]
        fn splitting_never_changes_events(
            payloads in proptest::collection::vec("[a-zé{}\":,0-9 ]{0,40}", 1..6),
            crlf in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let body: String = payloads.iter().map(|p| format!("data: {p}{eol}{eol}")).collect();
            let bytes = body.as_bytes();
            let whole = decode_all(&[bytes]);
            prop_assert_eq!(&whole, &payloads);
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
