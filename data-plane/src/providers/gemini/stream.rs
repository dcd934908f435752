//! Gemini's `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk`s.
//!
//! Each SSE event is a whole `GenerateContentResponse` holding the new part
//! of each candidate; `usageMetadata` grows with the stream and is final in
//! the last event. Finish chunks are held until the body ends so they can
//! carry that final usage to accounting when the client asked for no usage
//! chunk (one small chunk per candidate, never the answer itself).

use super::error::malformed;
use super::response::{call_id, candidates, finish_reason, read_parts, usage};
use super::sse::SseDecoder;
use crate::providers::chat::{ChunkStream, StreamEvent};
use crate::providers::chunk::ChunkHead;
use crate::providers::error::ProviderError;
use crate::providers::stream::Usage;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Turns Gemini events into OpenAI chunks for one response.
pub struct Translator {
    head: ChunkHead,
    /// Per candidate index: role sent, tool calls so far, finish reason.
    choices: BTreeMap<u64, ChoiceState>,
    next_call: usize,
    usage: Option<(Usage, Value)>,
}

#[derive(Default)]
struct ChoiceState {
    started: bool,
    tool_calls: usize,
    finish: Option<String>,
}

pub type Chunk = (Value, Option<Usage>);

impl Translator {
    pub fn new(id: String, model: String, created: u64, include_usage: bool) -> Self {
        Self {
            head: ChunkHead {
                id,
                model,
                created,
                include_usage,
            },
            choices: BTreeMap::new(),
            next_call: 0,
            usage: None,
        }
    }

    /// One SSE `data` payload → the chunks it yields.
    pub fn event(&mut self, data: &str) -> Result<Vec<Chunk>, ProviderError> {
        let response: Value =
            serde_json::from_str(data).map_err(|e| malformed(&format!("stream event: {e}")))?;
        if let Some(error) = response.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("stream error");
            return Err(super::error::classify(ProviderError::bad_gateway(format!(
                "gemini: {message}"
            ))));
        }
        if let Some(metadata) = response.get("usageMetadata") {
            self.usage = Some(usage(metadata));
        }
        let candidates = candidates(&response)?;
        let mut out = Vec::new();
        for (position, candidate) in candidates.iter().enumerate() {
            let index = candidate
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let parts = read_parts(candidate);
            let state = self.choices.entry(index).or_default();
            let first = !state.started;
            state.started = true;
            let mut delta = serde_json::Map::new();
            if first {
                delta.insert("role".into(), json!("assistant"));
                delta.insert("content".into(), json!(""));
            }
            if !parts.reasoning.is_empty() {
                delta.insert("reasoning_content".into(), json!(parts.reasoning));
            }
            if !parts.text.is_empty() {
                delta.insert("content".into(), json!(parts.text));
            }
            if !delta.is_empty() {
                out.push((self.head.chunk(index, Value::Object(delta), None), None));
            }
            for call in parts.calls {
                let state = self.choices.entry(index).or_default();
                let tool_index = state.tool_calls;
                state.tool_calls += 1;
                let id = call_id(self.next_call, call.signature.as_deref());
                self.next_call += 1;
                let chunks = self
                    .head
                    .tool_call(index, tool_index, id, call.name, call.arguments);
                out.extend(chunks.map(|chunk| (chunk, None)));
            }
            if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
                let state = self.choices.entry(index).or_default();
                state.finish = Some(finish_reason(reason, state.tool_calls > 0).to_string());
            }
        }
        Ok(out)
    }

    /// The body ended: finish chunks, then the usage chunk if asked for.
    /// Usage reaches accounting on exactly one chunk either way. Gemini's
    /// stream has no terminator, so a body that ends before any
    /// `finishReason` is a truncated answer, reported as an error.
    pub fn finish(&mut self) -> Result<Vec<Chunk>, ProviderError> {
        if !self.choices.values().any(|c| c.finish.is_some()) {
            return Err(malformed("the stream ended before any finishReason"));
        }
        let usage = self.usage.take();
        let finishes: Vec<(u64, String)> = self
            .choices
            .iter()
            .map(|(index, s)| (*index, s.finish.clone().unwrap_or_else(|| "stop".into())))
            .collect();
        let mut out: Vec<Chunk> = finishes
            .into_iter()
            .map(|(index, reason)| (self.head.chunk(index, json!({}), Some(&reason)), None))
            .collect();
        match (usage, self.head.include_usage) {
            (Some((usage, body)), true) => out.push((self.head.usage_chunk(body), Some(usage))),
            (Some((usage, _)), false) => {
                if let Some(last) = out.last_mut() {
                    last.1 = Some(usage);
                }
            }
            (None, _) => {}
        }
        Ok(out)
    }
}

/// The response body as OpenAI chunk events, each forwarded as it arrives.
pub fn events(body: hyper::body::Incoming, mut translator: Translator) -> ChunkStream {
    Box::pin(async_stream::stream! {
        let mut bytes = http_body_util::BodyDataStream::new(body);
        let mut decoder = SseDecoder::default();
        loop {
            let payloads = match bytes.next().await {
                Some(Ok(data)) => decoder.push(&data),
                Some(Err(e)) => {
                    yield StreamEvent::failure(&format!("the provider's stream broke: {e}"), "api_connection_error");
                    return;
                }
                None => break,
            };
            for payload in payloads {
                match translator.event(&payload) {
                    Ok(chunks) => for (chunk, usage) in chunks {
                        yield StreamEvent::chunk(&chunk, usage);
                    },
                    Err(e) => {
                        yield StreamEvent::provider_error(&e);
                        return;
                    }
                }
            }
        }
        if let Some(payload) = decoder.finish() {
            match translator.event(&payload) {
                Ok(chunks) => for (chunk, usage) in chunks {
                    yield StreamEvent::chunk(&chunk, usage);
                },
                Err(e) => {
                    yield StreamEvent::provider_error(&e);
                    return;
                }
            }
        }
        match translator.finish() {
            Ok(chunks) => for (chunk, usage) in chunks {
                yield StreamEvent::chunk(&chunk, usage);
            },
            Err(e) => yield StreamEvent::provider_error(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decoder and translator together, as `events` runs them; an error
    /// ends the output as it ends the stream.
    fn translate_bytes(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = SseDecoder::default();
        let mut t = Translator::new("i".into(), "g".into(), 0, true);
        let mut payloads: Vec<String> = chunks.iter().flat_map(|c| decoder.push(c)).collect();
        payloads.extend(decoder.finish());
        let mut out = Vec::new();
        for payload in payloads {
            match t.event(&payload) {
                Ok(chunks) => out.extend(chunks.into_iter().map(|(c, u)| format!("{c} {u:?}"))),
                Err(e) => {
                    out.push(format!("error: {}", e.message));
                    return out;
                }
            }
        }
        match t.finish() {
            Ok(chunks) => out.extend(chunks.into_iter().map(|(c, u)| format!("{c} {u:?}"))),
            Err(e) => out.push(format!("error: {}", e.message)),
        }
        out
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_translator(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut body = b"data: ".to_vec();
            body.extend_from_slice(&bytes);
            let _ = translate_bytes(&[&body]);
            let _ = translate_bytes(&[&bytes]);
        }

        #[test]
        fn a_stream_split_anywhere_translates_the_same(
            texts in proptest::collection::vec("[a-zA-Zé \\\"\n]{0,12}", 1..5),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut body = String::new();
            for (i, text) in texts.iter().enumerate() {
                let mut event = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]});
                if i + 1 == texts.len() {
                    event["candidates"][0]["finishReason"] = json!("STOP");
                    event["usageMetadata"] = json!({"promptTokenCount": 1, "candidatesTokenCount": i});
                }
                body.push_str(&format!("data: {event}\r\n\r\n"));
            }
            let bytes = body.as_bytes();
            let whole = translate_bytes(&[bytes]);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&bytes[last..p]);
                last = p;
            }
            chunks.push(&bytes[last..]);
            prop_assert_eq!(translate_bytes(&chunks), whole);
        }
    }

    fn run(events: &[&str], include_usage: bool) -> Vec<Chunk> {
        let mut t = Translator::new("chatcmpl-1".into(), "g".into(), 7, include_usage);
        let mut out = Vec::new();
        for e in events {
            out.extend(t.event(e).expect("valid event"));
        }
        out.extend(t.finish().expect("finished"));
        out
    }

    const TEXT_STREAM: &[&str] = &[
        r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],"usageMetadata":{"promptTokenCount":4}}"#,
        r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6}}"#,
    ];

    #[test]
    fn golden_text_stream_with_usage_chunk() {
        let chunks = run(TEXT_STREAM, true);
        let frames: Vec<Value> = chunks.iter().map(|c| c.0.clone()).collect();
        let base = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "created": 7, "model": "g", "usage": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        };
        assert_eq!(
            frames,
            vec![
                base(json!({"role": "assistant", "content": "Hel"}), Value::Null),
                base(json!({"content": "lo"}), Value::Null),
                base(json!({}), json!("stop")),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "g",
                    "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}),
            ]
        );
        let reported: Vec<Option<Usage>> = chunks.iter().map(|c| c.1).collect();
        let usage = Usage {
            prompt_tokens: 4,
            completion_tokens: 2,
            cached_tokens: 0,
        };
        assert_eq!(reported, vec![None, None, None, Some(usage)]);
    }

    #[test]
    fn usage_reaches_accounting_without_usage_chunk() {
        let chunks = run(TEXT_STREAM, false);
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.0.get("usage").is_none()));
        assert_eq!(
            chunks[2].1,
            Some(Usage {
                prompt_tokens: 4,
                completion_tokens: 2,
                cached_tokens: 0,
            })
        );
    }

    #[test]
    fn golden_tool_call_stream() {
        let chunks = run(
            &[
                r#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP","index":0}]}"#,
            ],
            false,
        );
        let deltas: Vec<Value> = chunks
            .iter()
            .map(|c| c.0["choices"][0]["delta"].clone())
            .collect();
        assert_eq!(
            deltas,
            vec![
                json!({"role": "assistant", "content": ""}),
                json!({"tool_calls": [{"index": 0, "id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]}),
                json!({}),
            ]
        );
        assert_eq!(
            chunks[3].0["choices"][0]["finish_reason"],
            json!("tool_calls")
        );
    }

    #[test]
    fn a_stream_without_finish_reason_is_truncated() {
        let mut t = Translator::new("i".into(), "g".into(), 0, false);
        t.event(TEXT_STREAM[0]).expect("valid event");
        assert!(t.finish().is_err());
        assert!(
            Translator::new("i".into(), "g".into(), 0, false)
                .finish()
                .is_err()
        );
    }

    #[test]
    fn thoughts_stream_as_reasoning_content() {
        let chunks = run(
            &[
                r#"{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]},"finishReason":"STOP","index":0}]}"#,
            ],
            false,
        );
        assert_eq!(
            chunks[0].0["choices"][0]["delta"],
            json!({"role": "assistant", "content": "", "reasoning_content": "hmm"})
        );
    }

    #[test]
    fn blocked_prompt_and_error_events_fail_the_stream() {
        let mut t = Translator::new("i".into(), "g".into(), 0, false);
        let e = t
            .event(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#)
            .expect_err("blocked");
        assert_eq!(e.code.as_deref(), Some("content_policy_violation"));
        let e = t
            .event(r#"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#)
            .expect_err("error");
        assert!(e.message.contains("boom"));
        assert!(t.event("not json").is_err());
    }
}
