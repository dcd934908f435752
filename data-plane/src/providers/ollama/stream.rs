//! Ollama's NDJSON stream → OpenAI `chat.completion.chunk`s.
//!
//! Each line is `{"message":{…delta…},"done":false}`; the last line has
//! `"done":true`, `done_reason` and the token counts, so the finish chunk
//! (and the usage chunk) come from it without holding anything back.

use super::error::upstream;
use super::ndjson::NdjsonDecoder;
use super::response::{finish_reason, tool_calls, usage};
use crate::providers::chat::{ChunkStream, StreamEvent};
use crate::providers::chunk::ChunkHead;
use crate::providers::error::ProviderError;
use crate::providers::stream::Usage;
use futures::StreamExt;
use serde_json::{Value, json};

pub type Chunk = (Value, Option<Usage>);

pub struct Translator {
    head: ChunkHead,
    started: bool,
    tool_calls: usize,
    done: bool,
}

impl Translator {
    pub fn new(id: String, model: String, created: u64, include_usage: bool) -> Self {
        Self {
            head: ChunkHead {
                id,
                model,
                created,
                include_usage,
            },
            started: false,
            tool_calls: 0,
            done: false,
        }
    }

    pub fn done(&self) -> bool {
        self.done
    }

    /// One NDJSON line → the chunks it yields.
    pub fn line(&mut self, line: &str) -> Result<Vec<Chunk>, ProviderError> {
        let event: Value = serde_json::from_str(line)
            .map_err(|e| upstream(&format!("unexpected stream line: {e}")))?;
        if let Some(error) = event.get("error") {
            let message = error
                .as_str()
                .map_or_else(|| error.to_string(), str::to_string);
            return Err(upstream(&message));
        }
        let mut out = Vec::new();
        let message = event.get("message").unwrap_or(&Value::Null);
        let mut delta = serde_json::Map::new();
        if !self.started {
            self.started = true;
            delta.insert("role".into(), json!("assistant"));
            delta.insert("content".into(), json!(""));
        }
        if let Some(thinking) = message
            .get("thinking")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            delta.insert("reasoning_content".into(), json!(thinking));
        }
        if let Some(text) = message
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            delta.insert("content".into(), json!(text));
        }
        if !delta.is_empty() {
            out.push((self.head.chunk(0, Value::Object(delta), None), None));
        }
        for call in tool_calls(message, self.tool_calls) {
            let index = self.tool_calls;
            self.tool_calls += 1;
            let function = &call["function"];
            let chunks = self.head.tool_call(
                0,
                index,
                &call["id"],
                &function["name"],
                &function["arguments"],
            );
            out.extend(chunks.map(|chunk| (chunk, None)));
        }
        if event.get("done").and_then(Value::as_bool) == Some(true) {
            self.done = true;
            let reason = finish_reason(
                event.get("done_reason").and_then(Value::as_str),
                self.tool_calls > 0,
            );
            let (usage, usage_body) = usage(&event);
            if self.head.include_usage {
                out.push((self.head.chunk(0, json!({}), Some(reason)), None));
                out.push((self.head.usage_chunk(usage_body), Some(usage)));
            } else {
                out.push((self.head.chunk(0, json!({}), Some(reason)), Some(usage)));
            }
        }
        Ok(out)
    }
}

/// The NDJSON body as OpenAI chunk events, each forwarded as it arrives.
pub fn events(body: hyper::body::Incoming, mut translator: Translator) -> ChunkStream {
    Box::pin(async_stream::stream! {
        let mut bytes = http_body_util::BodyDataStream::new(body);
        let mut decoder = NdjsonDecoder::default();
        loop {
            let (lines, eof) = match bytes.next().await {
                Some(Ok(data)) => (decoder.push(&data), false),
                Some(Err(e)) => {
                    yield StreamEvent::failure(&format!("ollama: the provider's stream broke: {e}"), "api_connection_error");
                    return;
                }
                None => (decoder.finish().into_iter().collect(), true),
            };
            for line in lines {
                match translator.line(&line) {
                    Ok(chunks) => for (chunk, usage) in chunks {
                        yield StreamEvent::chunk(&chunk, usage);
                    },
                    Err(e) => {
                        yield StreamEvent::provider_error(&e);
                        return;
                    }
                }
                if translator.done() {
                    return;
                }
            }
            if eof {
                break;
            }
        }
        yield StreamEvent::failure("ollama: the provider's stream ended before `done`", "api_connection_error");
    })
}

#[cfg(test)]
mod tests {
    use super::super::ndjson::NdjsonDecoder;
    use super::*;
    use proptest::prelude::*;

    /// Decoder and translator together, as `events` runs them.
    fn translate_bytes(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = NdjsonDecoder::default();
        let mut t = Translator::new("i".into(), "l".into(), 0, true);
        let mut lines: Vec<String> = chunks.iter().flat_map(|c| decoder.push(c)).collect();
        lines.extend(decoder.finish());
        let mut out = Vec::new();
        for line in lines {
            match t.line(&line) {
                Ok(chunks) => out.extend(chunks.into_iter().map(|(c, u)| format!("{c} {u:?}"))),
                Err(e) => {
                    out.push(format!("error: {}", e.message));
                    return out;
                }
            }
            if t.done() {
                break;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_translator(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = translate_bytes(&[&bytes]);
        }

        #[test]
        fn a_stream_split_anywhere_translates_the_same(
            texts in proptest::collection::vec("[a-zA-Zé \\\"\n]{0,12}", 1..5),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut body = String::new();
            for text in &texts {
                let line = json!({"message": {"role": "assistant", "content": text}, "done": false});
                body.push_str(&format!("{line}\n"));
            }
            let done = json!({"message": {"role": "assistant", "content": ""}, "done": true,
                "done_reason": "stop", "prompt_eval_count": 1, "eval_count": texts.len()});
            body.push_str(&format!("{done}\n"));
            let bytes = body.as_bytes();
            let whole = translate_bytes(&[bytes]);
            prop_assert!(whole.last().is_some_and(|l| l.contains("Some(Usage")), "{:?}", whole);
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

    const TEXT_STREAM: &[&str] = &[
        r#"{"model":"llama3.2","created_at":"t","message":{"role":"assistant","content":"Hel"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"t","message":{"role":"assistant","content":"lo"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"t","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":4,"eval_count":2}"#,
    ];

    fn run(lines: &[&str], include_usage: bool) -> Vec<Chunk> {
        let mut t = Translator::new("chatcmpl-1".into(), "l".into(), 7, include_usage);
        lines
            .iter()
            .flat_map(|l| t.line(l).expect("valid line"))
            .collect()
    }

    #[test]
    fn golden_text_stream_with_usage_chunk() {
        let chunks = run(TEXT_STREAM, true);
        let base = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "created": 7, "model": "l", "usage": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        };
        let frames: Vec<Value> = chunks.iter().map(|c| c.0.clone()).collect();
        assert_eq!(
            frames,
            vec![
                base(json!({"role": "assistant", "content": "Hel"}), Value::Null),
                base(json!({"content": "lo"}), Value::Null),
                base(json!({}), json!("stop")),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "l",
                    "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}),
            ]
        );
        let usage = Usage {
            prompt_tokens: 4,
            completion_tokens: 2,
            cached_tokens: 0,
        };
        assert_eq!(
            chunks.iter().map(|c| c.1).collect::<Vec<_>>(),
            vec![None, None, None, Some(usage)]
        );
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
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}"#,
                r#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":5}"#,
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
    fn thinking_and_errors() {
        let chunks = run(
            &[r#"{"message":{"role":"assistant","content":"","thinking":"hmm"},"done":false}"#],
            false,
        );
        assert_eq!(
            chunks[0].0["choices"][0]["delta"],
            json!({"role": "assistant", "content": "", "reasoning_content": "hmm"})
        );
        let mut t = Translator::new("i".into(), "l".into(), 0, false);
        let e = t
            .line(r#"{"error":"the input length exceeds the context length"}"#)
            .expect_err("error");
        assert_eq!(e.code.as_deref(), Some("context_length_exceeded"));
        assert!(t.line("not json").is_err());
    }
}
