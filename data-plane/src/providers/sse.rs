//! Server-sent events off the wire: bytes in, events out, per the HTML
//! standard's parsing rules (any of `\n`, `\r\n`, `\r` ends a line; a blank
//! line dispatches; `:` starts a comment; one space after the colon is
//! dropped; a leading BOM is skipped; an event without data is not
//! dispatched; an unfinished event at the end of the stream is dropped).
//!
//! Replaces the `eventsource-stream` crate on the streaming hot path: its
//! nom line parser and the copy of the rest of the buffer after every line
//! cost about 4,000 instructions per event (callgrind, a streamed chat:
//! 50,766 of 470,643 instructions per request). Here a line is found with
//! `memchr`, checked as UTF-8 once, and the buffer is compacted once per
//! chunk.

use futures::{Stream, StreamExt};
use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// `message` when the event named none.
    pub event: String,
    /// The data lines, joined by `\n`.
    pub data: String,
    /// The last event id seen (it carries over to later events).
    pub id: String,
    pub retry: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum SseError<E> {
    #[error("the event stream is not valid UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    #[error("transport error: {0}")]
    Transport(E),
}

/// The events of an SSE byte stream, in order; the first error ends it.
pub fn parse<S, B, E>(bytes: S) -> impl Stream<Item = Result<Event, SseError<E>>> + Send
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    async_stream::stream! {
        let mut parser = Parser::default();
        let mut bytes = std::pin::pin!(bytes);
        while let Some(chunk) = bytes.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    yield Err(SseError::Transport(e));
                    return;
                }
            };
            parser.push(chunk.as_ref());
            loop {
                match parser.next_event() {
                    Ok(Some(event)) => yield Ok(event),
                    Ok(None) => break,
                    Err(e) => {
                        yield Err(SseError::Utf8(e));
                        return;
                    }
                }
            }
            parser.compact();
        }
    }
}

/// The parser's state between chunks: unread bytes and the event being
/// built.
#[derive(Default)]
struct Parser {
    buffer: Vec<u8>,
    /// Where the unread part of `buffer` starts.
    start: usize,
    /// The stream has begun (a BOM is only skipped before its first byte).
    started: bool,
    /// The last line ended in `\r`: a `\n` that opens the next chunk
    /// belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    id: String,
    retry: Option<Duration>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Parser {
    fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Drops what has been read: one move of the unread tail per chunk.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
    }

    /// The next complete event in the buffer, if any.
    fn next_event(&mut self) -> Result<Option<Event>, std::str::Utf8Error> {
        loop {
            if !self.started {
                let unread = &self.buffer[self.start..];
                if unread.len() < BOM.len() && BOM.starts_with(unread) {
                    return Ok(None); // maybe a BOM split across chunks
                }
                self.started = true;
                if unread.starts_with(BOM) {
                    self.start += BOM.len();
                }
            }
            if self.after_cr && self.start < self.buffer.len() {
                self.after_cr = false;
                if self.buffer[self.start] == b'\n' {
                    self.start += 1;
                }
            }
            let unread = &self.buffer[self.start..];
            let Some(end) = memchr::memchr2(b'\n', b'\r', unread) else {
                return Ok(None);
            };
            let line_start = self.start;
            let terminator = unread[end];
            self.start += end + 1;
            if terminator == b'\r' {
                match self.buffer.get(self.start) {
                    Some(b'\n') => self.start += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::str::from_utf8(&self.buffer[line_start..line_start + end])?;
            if line.is_empty() {
                if let Some(event) = self.dispatch() {
                    return Ok(Some(event));
                }
                continue;
            }
            let (field, value) = match line.find(':') {
                Some(0) => continue, // a comment
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (line, ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                    self.has_data = true;
                }
                "event" => {
                    self.event.clear();
                    self.event.push_str(value);
                }
                "id" if !value.contains('\0') => {
                    self.id.clear();
                    self.id.push_str(value);
                }
                "retry" => {
                    if let Ok(ms) = value.parse::<u64>() {
                        self.retry = Some(Duration::from_millis(ms));
                    }
                }
                _ => {}
            }
        }
    }

    /// A blank line: the event built so far, unless it has no data.
    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.event);
        let retry = self.retry.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(Event {
            event: if event.is_empty() {
                "message".to_string()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
            retry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn events(chunks: &[&[u8]]) -> Vec<Result<Event, String>> {
        let stream = futures::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::convert::Infallible>(c.to_vec())),
        );
        futures::executor::block_on(parse(stream).collect::<Vec<_>>())
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    fn data(chunks: &[&[u8]]) -> Vec<String> {
        events(chunks)
            .into_iter()
            .map(|e| e.expect("an event").data)
            .collect()
    }

    #[test]
    fn fields_comments_and_line_endings_follow_the_standard() {
        let got = events(&[
            b"\xEF\xBB\xBF: comment\nevent: ping\ndata: a\ndata:b\nid: 7\nretry: 50\n\n",
            b"data: c\r\n\r\ndata\rdata:  d\r\rid: x\0y\nunknown: z\ndata: e\n\n",
        ]);
        let got: Vec<Event> = got.into_iter().map(|e| e.expect("event")).collect();
        assert_eq!(
            got[0],
            Event {
                event: "ping".into(),
                data: "a\nb".into(),
                id: "7".into(),
                retry: Some(Duration::from_millis(50)),
            }
        );
        assert_eq!(
            (got[1].event.as_str(), got[1].data.as_str()),
            ("message", "c")
        );
        assert_eq!(got[1].id, "7", "the last id carries over");
        assert_eq!(got[2].data, "\n d", "a bare `data` line adds an empty line");
        assert_eq!(got[3].data, "e");
        assert_eq!(got[3].id, "7", "an id with NUL is ignored");
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_an_unfinished_one_is_dropped() {
        assert_eq!(
            data(&[b"event: a\n\n: only a comment\n\ndata: kept\n\ndata: unfinished\n"]),
            vec!["kept"]
        );
        assert!(data(&[b"data: no blank line at the end"]).is_empty());
    }

    #[test]
    fn invalid_utf8_ends_the_stream_with_an_error() {
        let got = events(&[b"data: ok\n\ndata: \xff\n\ndata: never\n\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().map(|e| e.data.as_str()), Ok("ok"));
        assert!(
            got[1].as_ref().is_err_and(|e| e.contains("UTF-8")),
            "{got:?}"
        );
    }

    proptest! {
        /// However the bytes are split (a BOM, a `\r\n` or a multi-byte
        /// character across chunks), the events are the same.
        #[test]
        fn any_chunking_gives_the_same_events(cuts in proptest::collection::vec(0usize..200, 0..12)) {
            let whole: &[u8] = "\u{feff}event: x\r\ndata: {\"t\":\"Hé ✓\"}\r\n\r\n: c\rdata: two\rdata: lines\r\rdata: [DONE]\n\n".as_bytes();
            let expected = data(&[whole]);
            prop_assert_eq!(expected.len(), 3);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (whole.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&whole[from..cut]);
                from = cut;
            }
            chunks.push(&whole[from..]);
            prop_assert_eq!(data(&chunks), expected);
        }
    }
}
