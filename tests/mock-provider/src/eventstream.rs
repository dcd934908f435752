//! AWS event-stream binary framing (`application/vnd.amazon.eventstream`),
//! encoding side: `total_len | headers_len | prelude_crc | headers | payload |
//! message_crc`, big-endian, CRC-32 (ISO-HDLC), string headers (type 7).

use axum::body::Bytes;

const PRELUDE: usize = 12;

/// One message with string headers.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = Vec::new();
    for (name, value) in headers {
        // Names are short constants and values small JSON-free strings; the
        // format caps them at 255 bytes and 32 KiB.
        let name_len = u8::try_from(name.len()).unwrap_or(u8::MAX);
        let value_len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        encoded_headers.push(name_len);
        encoded_headers.extend_from_slice(&name.as_bytes()[..usize::from(name_len)]);
        encoded_headers.push(7);
        encoded_headers.extend_from_slice(&value_len.to_be_bytes());
        encoded_headers.extend_from_slice(&value.as_bytes()[..usize::from(value_len)]);
    }
    let total = PRELUDE + encoded_headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(encoded_headers.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&encoded_headers);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(out)
}

/// An `event` message of type `event_type` with a JSON payload.
pub fn event(event_type: &str, payload: &serde_json::Value) -> Bytes {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// An `exception` message (`throttlingException`, `validationException`, …).
pub fn exception(exception_type: &str, message: &str) -> Bytes {
    encode(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        serde_json::json!({ "message": message })
            .to_string()
            .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_matches_the_aws_vector() {
        assert_eq!(
            &encode(&[], b"")[..],
            &[
                0, 0, 0, 0x10, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff
            ]
        );
    }

    #[test]
    fn lengths_and_crcs_are_consistent() {
        let bytes = event(
            "messageStop",
            &serde_json::json!({"stopReason": "end_turn"}),
        );
        let total = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        assert_eq!(total, bytes.len());
        let crc = u32::from_be_bytes([
            bytes[total - 4],
            bytes[total - 3],
            bytes[total - 2],
            bytes[total - 1],
        ]);
        assert_eq!(crc, crc32fast::hash(&bytes[..total - 4]));
    }
}
