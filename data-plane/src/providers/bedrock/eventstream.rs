//! AWS event-stream binary framing (`application/vnd.amazon.eventstream`),
//! decoding side: each message is
//! `total_len:u32 | headers_len:u32 | prelude_crc:u32 | headers | payload | message_crc:u32`
//! (big-endian, CRC-32/ISO-HDLC). Bytes are fed as they arrive; a message
//! comes out once whole and both CRCs hold. Any corruption is an error, after
//! which the stream is unusable (a frame boundary can no longer be trusted).

use bytes::{Buf, Bytes, BytesMut};

const PRELUDE: usize = 12;
const MIN_MESSAGE: usize = PRELUDE + 4;
/// AWS caps messages at 16 MiB and headers at 128 KiB; anything larger is
/// garbage, and refusing it bounds memory.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 128 * 1024;

/// One decoded message: the headers the gateway reads, and the payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// `:message-type`: `event`, `exception` or `error`.
    pub message_type: Option<String>,
    /// `:event-type` (events), e.g. `contentBlockDelta`.
    pub event_type: Option<String>,
    /// `:exception-type` (exceptions), e.g. `throttlingException`.
    pub exception_type: Option<String>,
    /// `:error-code` / `:error-message` (errors).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("event-stream prelude checksum mismatch")]
    PreludeCrc,
    #[error("event-stream message checksum mismatch")]
    MessageCrc,
    #[error("event-stream message length {0} is out of bounds")]
    Length(usize),
    #[error("event-stream headers are malformed")]
    Headers,
}

#[derive(Debug, Default)]
pub struct Decoder {
    buffer: BytesMut,
    failed: bool,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// Bytes received but not yet part of a whole message.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole message, `None` if more bytes are needed, or the
    /// error that ends the stream.
    pub fn next_message(&mut self) -> Option<Result<Message, DecodeError>> {
        if self.failed || self.buffer.len() < PRELUDE {
            return None;
        }
        let total = be_u32(&self.buffer[0..4]) as usize;
        let headers_len = be_u32(&self.buffer[4..8]) as usize;
        let prelude_crc = be_u32(&self.buffer[8..12]);
        if crc32fast::hash(&self.buffer[..8]) != prelude_crc {
            return Some(self.fail(DecodeError::PreludeCrc));
        }
        if !(MIN_MESSAGE..=MAX_MESSAGE).contains(&total)
            || headers_len > MAX_HEADERS
            || headers_len > total - MIN_MESSAGE
        {
            return Some(self.fail(DecodeError::Length(total)));
        }
        if self.buffer.len() < total {
            return None;
        }
        let frame = self.buffer.split_to(total).freeze();
        let message_crc = be_u32(&frame[total - 4..]);
        if crc32fast::hash(&frame[..total - 4]) != message_crc {
            return Some(self.fail(DecodeError::MessageCrc));
        }
        let headers = &frame[PRELUDE..PRELUDE + headers_len];
        let mut message = match parse_headers(headers) {
            Ok(m) => m,
            Err(e) => return Some(self.fail(e)),
        };
        message.payload = frame.slice(PRELUDE + headers_len..total - 4);
        Some(Ok(message))
    }

    fn fail(&mut self, error: DecodeError) -> Result<Message, DecodeError> {
        self.failed = true;
        self.buffer.clear();
        Err(error)
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(b)
}

/// Reads every header (all nine value types must be skipped correctly to
/// reach the next one) and keeps the string ones the gateway uses.
fn parse_headers(mut input: &[u8]) -> Result<Message, DecodeError> {
    let mut message = Message::default();
    while input.has_remaining() {
        let name_len = usize::from(input.try_get_u8().map_err(|_| DecodeError::Headers)?);
        if name_len == 0 || input.remaining() < name_len {
            return Err(DecodeError::Headers);
        }
        let name = std::str::from_utf8(&input[..name_len])
            .map_err(|_| DecodeError::Headers)?
            .to_string();
        input.advance(name_len);
        let kind = input.try_get_u8().map_err(|_| DecodeError::Headers)?;
        let fixed = match kind {
            0 | 1 => Some(0),
            2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            5 | 8 => Some(8),
            9 => Some(16),
            6 | 7 => None,
            _ => return Err(DecodeError::Headers),
        };
        if let Some(len) = fixed {
            if input.remaining() < len {
                return Err(DecodeError::Headers);
            }
            input.advance(len);
            continue;
        }
        let len = usize::from(input.try_get_u16().map_err(|_| DecodeError::Headers)?);
        if input.remaining() < len {
            return Err(DecodeError::Headers);
        }
        let value = &input[..len];
        if kind == 7 {
            let text = std::str::from_utf8(value)
                .map_err(|_| DecodeError::Headers)?
                .to_string();
            match name.as_str() {
                ":message-type" => message.message_type = Some(text),
                ":event-type" => message.event_type = Some(text),
                ":exception-type" => message.exception_type = Some(text),
                ":error-code" => message.error_code = Some(text),
                ":error-message" => message.error_message = Some(text),
                _ => {}
            }
        }
        input.advance(len);
    }
    Ok(message)
}

/// Encodes a message with string headers: the mirror of the decoder, for
/// tests (the mock provider has its own encoder).
#[cfg(test)]
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = (PRELUDE + h.len() + payload.len() + 4) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// `bytes` cut at the given points (any values, taken modulo the length):
/// a stream as the network might tear it, for property tests.
#[cfg(test)]
pub fn torn<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        chunks.push(&bytes[start..p]);
        start = p;
    }
    chunks.push(&bytes[start..]);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    fn decode_all(chunks: &[&[u8]]) -> Vec<Result<Message, DecodeError>> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(m) = decoder.next_message() {
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn decodes_aws_published_example_frame() {
        // From the AWS event-stream spec: one header `event-type: aws` is
        // absent; this is the "empty message" vector: 16 bytes, CRCs only.
        let empty = encode(&[], b"");
        assert_eq!(
            empty,
            [
                0, 0, 0, 0x10, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff
            ]
        );
        let got = decode_all(&[&empty]);
        assert_eq!(got, vec![Ok(Message::default())]);
    }

    #[test]
    fn several_frames_per_read_and_split_frames() {
        let mut bytes = event("messageStart", r#"{"role":"assistant"}"#);
        bytes.extend(event("contentBlockDelta", r#"{"delta":{"text":"hi"}}"#));
        let whole = decode_all(&[&bytes]);
        assert_eq!(whole.len(), 2);
        let first = whole[0].clone().expect("valid");
        assert_eq!(first.event_type.as_deref(), Some("messageStart"));
        assert_eq!(first.message_type.as_deref(), Some("event"));
        assert_eq!(&first.payload[..], br#"{"role":"assistant"}"#);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_all(&bytewise), whole);
    }

    #[test]
    fn corruption_is_detected() {
        let mut bad = event("messageStop", "{}");
        let last = bad.len() - 5;
        bad[last] ^= 1;
        assert_eq!(decode_all(&[&bad]), vec![Err(DecodeError::MessageCrc)]);
        let mut bad = event("messageStop", "{}");
        bad[2] ^= 1;
        assert_eq!(decode_all(&[&bad]), vec![Err(DecodeError::PreludeCrc)]);
    }

    #[test]
    fn exceptions_carry_their_type() {
        let bytes = encode(
            &[
                (":exception-type", "throttlingException"),
                (":message-type", "exception"),
            ],
            br#"{"message":"slow down"}"#,
        );
        let m = decode_all(&[&bytes]).pop().expect("one").expect("valid");
        assert_eq!(m.exception_type.as_deref(), Some("throttlingException"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let _ = decode_all(&refs);
        }

        #[test]
        fn valid_stream_split_anywhere_decodes_the_same(
            texts in proptest::collection::vec("[a-z ]{0,40}", 1..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut bytes = Vec::new();
            for t in &texts {
                bytes.extend(event("contentBlockDelta", &format!(r#"{{"delta":{{"text":"{t}"}}}}"#)));
            }
            let whole = decode_all(&[&bytes]);
            prop_assert_eq!(whole.len(), texts.len());
            prop_assert_eq!(decode_all(&torn(&bytes, &cuts)), whole);
        }

        /// Every byte is under a CRC-32, which catches any one flipped bit:
        /// the frames before it come out intact, then one error, then
        /// nothing — however the reads are cut.
        #[test]
        fn a_flipped_bit_is_always_caught(
            texts in proptest::collection::vec("[a-z ]{0,40}", 1..5),
            at in any::<usize>(),
            bit in 0u8..8,
            cut in any::<usize>(),
        ) {
            let mut bytes = Vec::new();
            let mut ends = Vec::new();
            for t in &texts {
                bytes.extend(event("contentBlockDelta", &format!(r#"{{"delta":{{"text":"{t}"}}}}"#)));
                ends.push(bytes.len());
            }
            let whole = decode_all(&[&bytes]);
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
            let intact = ends.iter().filter(|end| **end <= at).count();
            let cut = cut % (bytes.len() + 1);
            let got = decode_all(&[&bytes[..cut], &bytes[cut..]]);
            prop_assert_eq!(got.len(), intact + 1);
            prop_assert_eq!(&got[..intact], &whole[..intact]);
            prop_assert!(got[intact].is_err());
        }
    }
}
