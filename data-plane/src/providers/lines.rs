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
