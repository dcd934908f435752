//! `litellm_params.mock_response`: a deployment that answers in-process, as
//! LiteLLM's does, so the quick start needs no provider and no API key.

use super::chat::{ChatCall, ChatOutput, StreamEvent};
use super::chunk::ChunkHead;
use super::stream::Usage;
use bytes::Bytes;
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub struct MockUpstream {
    text: String,
    completion_tokens: u64,
}

impl MockUpstream {
    pub fn new(text: String) -> Self {
        let completion_tokens = count_words(&text).max(1);
        Self {
            text,
            completion_tokens,
        }
    }

    pub fn chat(&self, call: &ChatCall<'_>) -> ChatOutput {
        let id = format!("chatcmpl-{}", call.request_id);
        let created = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let prompt_tokens = prompt_words(&call.body);
        let usage = Usage {
            prompt_tokens,
            completion_tokens: self.completion_tokens,
            cached_tokens: 0,
        };
        if !call.stream {
            return ChatOutput::Complete {
                body: self.response(&id, call.model_group, created, usage),
                usage,
            };
        }
        let head = ChunkHead {
            id,
            model: call.model_group.to_string(),
            created,
            include_usage: call.include_usage,
        };
        let events: Vec<StreamEvent> = self
            .stream_chunks(&head, usage)
            .into_iter()
            .map(|(chunk, has_usage)| StreamEvent::chunk(&chunk, has_usage.then_some(usage)))
            .collect();
        ChatOutput::Stream(Box::pin(futures::stream::iter(events)))
    }

    pub fn response(&self, id: &str, model: &str, created: u64, usage: Usage) -> Bytes {
        let body = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": self.text},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage.openai_json(),
        });
        Bytes::from(body.to_string())
    }

    /// The chunks of a streamed answer: role, one chunk per word, stop, and
    /// the usage chunk when asked for (flagged `true`).
    fn stream_chunks(&self, head: &ChunkHead, usage: Usage) -> Vec<(Value, bool)> {
        let chunk = |delta: Value, finish: Option<&str>| (head.chunk(0, delta, finish), false);
        let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        for (i, word) in self.text.split_whitespace().enumerate() {
            let piece = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            chunks.push(chunk(json!({"content": piece}), None));
        }
        chunks.push(chunk(json!({}), Some("stop")));
        if head.include_usage {
            chunks.push((head.usage_chunk(usage.openai_json()), true));
        }
        chunks
    }
}

/// A rough prompt size for mock answers (real providers report their own).
fn prompt_words(body: &Map<String, Value>) -> u64 {
    let Some(Value::Array(messages)) = body.get("messages") else {
        return 0;
    };
    let words: usize = messages
        .iter()
        .map(|m| match m.get("content") {
            Some(Value::String(s)) => s.split_whitespace().count() + 1,
            Some(Value::Array(parts)) => {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .map(|t| t.split_whitespace().count())
                    .sum::<usize>()
                    + 1
            }
            _ => 1,
        })
        .sum();
    u64::try_from(words).unwrap_or(u64::MAX)
}

pub fn count_words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(include_usage: bool) -> ChunkHead {
        ChunkHead {
            id: "id".into(),
            model: "m".into(),
            created: 0,
            include_usage,
        }
    }

    fn usage(prompt_tokens: u64, mock: &MockUpstream) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens: mock.completion_tokens,
            cached_tokens: 0,
        }
    }

    fn content(chunks: &[(Value, bool)]) -> String {
        chunks
            .iter()
            .filter_map(|(c, _)| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn streamed_words_reassemble_the_text() {
        let mock = MockUpstream::new("Hello from Tollgate".into());
        let chunks = mock.stream_chunks(&head(false), usage(3, &mock));
        assert_eq!(content(&chunks), "Hello from Tollgate");
        assert!(
            chunks
                .iter()
                .all(|(c, usage)| !usage && c.get("usage").is_none())
        );
        assert_eq!(
            chunks
                .last()
                .map(|(c, _)| c["choices"][0]["finish_reason"].clone()),
            Some(json!("stop"))
        );
    }

    #[test]
    fn include_usage_adds_one_usage_chunk() {
        let mock = MockUpstream::new("a b c".into());
        let chunks = mock.stream_chunks(&head(true), usage(7, &mock));
        let usage: Vec<_> = chunks.iter().filter(|(_, u)| *u).collect();
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0].0["choices"], json!([]));
        assert_eq!(usage[0].0["usage"]["total_tokens"], json!(10));
        assert!(
            chunks
                .iter()
                .filter(|(_, u)| !*u)
                .all(|(c, _)| c["usage"].is_null())
        );
    }
}
