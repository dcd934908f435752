//! The usage of a relayed Bedrock stream (`/bedrock/model/{id}/converse-stream`,
//! `/invoke-with-response-stream`): the answer is AWS's binary event stream,
//! so the SSE scanner sees nothing in it. Frames are decoded as the bytes
//! pass (the decoder holds at most one unfinished frame, never the stream)
//! and each event's JSON goes to the same [`Tally`] as SSE events:
//! ConverseStream's `metadata` event carries `usage`; InvokeModel's `chunk`
//! events carry `{"bytes": base64 of the model's own event}` — for Anthropic
//! models `message_start` / `message_delta`, for every model the closing
//! `amazon-bedrock-invocationMetrics`. The relayed bytes are never touched:
//! a frame that fails its checksum stops the scan (later frame boundaries
//! cannot be trusted), not the relay.

use super::usage::{Reported, Tally};
use crate::providers::eventstream::{Decoder, Message};
use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct EventStreamScanner {
    decoder: Decoder,
    tally: Tally,
    broken: bool,
}

impl EventStreamScanner {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        self.decoder.push(bytes);
        while let Some(next) = self.decoder.next_message() {
            match next {
                Ok(message) => self.message(&message),
                Err(error) => {
                    tracing::warn!(%error, "bedrock pass-through: the stream's usage cannot be read past a corrupt frame");
                    self.broken = true;
                    return;
                }
            }
        }
    }

    fn message(&mut self, message: &Message) {
        if message
            .message_type
            .as_deref()
            .is_some_and(|t| t != "event")
        {
            // Exceptions and errors carry no usage.
            return;
        }
        let Ok(payload) = serde_json::from_slice::<Value>(&message.payload) else {
            return;
        };
        match payload.get("bytes").and_then(Value::as_str) {
            // InvokeModelWithResponseStream: the model's own event, encoded.
            Some(encoded) => {
                let Ok(inner) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                    return;
                };
                if let Ok(event) = serde_json::from_slice::<Value>(&inner) {
                    self.tally.event(&event);
                }
            }
            // ConverseStream: the event is the payload (`metadata` has `usage`).
            None => self.tally.event(&payload),
        }
    }

    /// What the stream reported so far.
    pub fn reported(&self) -> Option<Reported> {
        self.tally.reported()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::eventstream::{encode, torn};
    use crate::providers::stream::Usage;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(kind: &str, payload: &Value) -> Vec<u8> {
        encode(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.to_string().as_bytes(),
        )
    }

    fn chunk(inner: &Value) -> Vec<u8> {
        let bytes = base64::engine::general_purpose::STANDARD.encode(inner.to_string());
        event("chunk", &json!({"bytes": bytes, "p": "abcdefgh"}))
    }

    /// An Anthropic model's InvokeModelWithResponseStream answer.
    fn invoke_stream() -> Vec<u8> {
        let mut out = chunk(&json!({"type": "message_start", "message": {"usage": {
            "input_tokens": 7, "output_tokens": 1, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 3}}}));
        out.extend(chunk(
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}),
        ));
        out.extend(chunk(
            &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        ));
        out.extend(chunk(&json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 7, "outputTokenCount": 5, "invocationLatency": 10, "firstByteLatency": 3}})));
        out
    }

    fn converse_stream() -> Vec<u8> {
        let mut out = event("messageStart", &json!({"role": "assistant"}));
        out.extend(event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "usage"}}),
        ));
        out.extend(event("messageStop", &json!({"stopReason": "end_turn"})));
        out.extend(event(
            "metadata",
            &json!({"usage": {"inputTokens": 6, "outputTokens": 4, "cacheReadInputTokens": 1, "totalTokens": 11}, "metrics": {"latencyMs": 1}}),
        ));
        out
    }

    fn scan(chunks: &[&[u8]]) -> Option<Reported> {
        let mut scanner = EventStreamScanner::default();
        for c in chunks {
            scanner.feed(c);
        }
        scanner.reported()
    }

    fn usage(prompt: u64, completion: u64, cached: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
        }
    }

    const INVOKE: Reported = Reported {
        usage: Usage {
            prompt_tokens: 12,
            completion_tokens: 5,
            cached_tokens: 2,
        },
        cache_creation: 3,
        search_units: 0,
    };

    #[test]
    fn anthropic_events_in_invoke_chunks_are_read() {
        // Anthropic's counts (cache reads and writes) win over the metrics.
        assert_eq!(scan(&[&invoke_stream()]), Some(INVOKE));
    }

    #[test]
    fn converse_metadata_is_read() {
        assert_eq!(
            scan(&[&converse_stream()]),
            Some(Reported {
                usage: usage(7, 4, 1),
                cache_creation: 0,
                search_units: 0
            })
        );
    }

    #[test]
    fn invocation_metrics_alone_are_read() {
        // A Llama stream: the model's own chunks have no usage.
        let mut bytes = chunk(&json!({"generation": "hi", "stop_reason": null}));
        bytes.extend(chunk(&json!({"generation": "", "stop_reason": "stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 9, "outputTokenCount": 2}})));
        assert_eq!(
            scan(&[&bytes]),
            Some(Reported {
                usage: usage(9, 2, 0),
                cache_creation: 0,
                search_units: 0
            })
        );
    }

    #[test]
    fn exceptions_and_garbage_payloads_report_nothing() {
        let mut bytes = encode(
            &[
                (":exception-type", "throttlingException"),
                (":message-type", "exception"),
            ],
            br#"{"message":"slow down","usage":{"inputTokens":1}}"#,
        );
        bytes.extend(event("chunk", &json!({"bytes": "!!not base64!!"})));
        bytes.extend(encode(&[(":message-type", "event")], b"not json"));
        assert_eq!(scan(&[&bytes]), None);
    }

    #[test]
    fn a_corrupt_frame_stops_the_scan_but_keeps_what_was_read() {
        let mut bytes = converse_stream();
        let good = scan(&[&bytes]);
        // The frames after a bad checksum are not read, even if valid.
        let mut corrupt = event("messageStart", &json!({"role": "assistant"}));
        let last = corrupt.len() - 5;
        corrupt[last] ^= 0x40;
        corrupt.append(&mut bytes);
        assert_eq!(scan(&[&corrupt]), None);
        let mut after = converse_stream();
        after.extend(corrupt);
        assert_eq!(scan(&[&after]), good);
    }

    proptest! {
        /// Frames torn across reads anywhere decode to the same usage.
        #[test]
        fn torn_frames_read_the_same(cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
            let bytes = invoke_stream();
            prop_assert_eq!(scan(&torn(&bytes, &cuts)), Some(INVOKE));
        }

        /// Any flipped byte never panics, and never invents usage beyond
        /// what the intact frames before it reported.
        #[test]
        fn a_flipped_byte_never_panics(at in any::<usize>(), bit in 0u8..8, cut in any::<usize>()) {
            let mut bytes = converse_stream();
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
            let cut = cut % (bytes.len() + 1);
            let got = scan(&[&bytes[..cut], &bytes[cut..]]);
            prop_assert!(got.is_none() || got == scan(&[&converse_stream()]), "{got:?}");
        }

        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..12)) {
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let _ = scan(&refs);
        }
    }
}
