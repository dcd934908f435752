//! `litellm_params.mock_response`: a deployment that answers in-process, as
//! LiteLLM's does, so the quick start needs no provider and no API key.

use bytes::Bytes;
use serde_json::json;

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

    pub fn completion_tokens(&self) -> u64 {
        self.completion_tokens
    }

    pub fn response(&self, id: &str, model: &str, created: u64, prompt_tokens: u64) -> Bytes {
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
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": prompt_tokens + self.completion_tokens,
            },
        });
        Bytes::from(body.to_string())
    }

    /// The SSE events of a streamed answer: role, one chunk per word, stop,
    /// the usage chunk when asked for, `[DONE]`.
    pub fn stream_events(
        &self,
        id: &str,
        model: &str,
        created: u64,
        prompt_tokens: u64,
        include_usage: bool,
    ) -> Vec<Bytes> {
        let usage_field = |v: serde_json::Value| if include_usage { Some(v) } else { None };
        let chunk = |delta: serde_json::Value, finish: Option<&str>| {
            let mut c = json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            });
            if let Some(null) = usage_field(serde_json::Value::Null) {
                c["usage"] = null;
            }
            Bytes::from(format!("data: {c}\n\n"))
        };
        let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        for (i, word) in self.text.split_whitespace().enumerate() {
            let piece = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            events.push(chunk(json!({"content": piece}), None));
        }
        events.push(chunk(json!({}), Some("stop")));
        if include_usage {
            let usage = json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "total_tokens": prompt_tokens + self.completion_tokens,
                },
            });
            events.push(Bytes::from(format!("data: {usage}\n\n")));
        }
        events.push(Bytes::from_static(b"data: [DONE]\n\n"));
        events
    }
}

pub fn count_words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deltas(events: &[Bytes]) -> String {
        events
            .iter()
            .filter_map(|e| std::str::from_utf8(e).ok())
            .filter_map(|e| e.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn streamed_words_reassemble_the_text() {
        let mock = MockUpstream::new("Hello from Tollgate".into());
        let events = mock.stream_events("id", "m", 0, 3, false);
        assert_eq!(deltas(&events), "Hello from Tollgate");
        assert_eq!(
            events.last().map(|b| b.as_ref()),
            Some(&b"data: [DONE]\n\n"[..])
        );
        assert!(
            !events
                .iter()
                .any(|e| String::from_utf8_lossy(e).contains("\"usage\""))
        );
    }

    #[test]
    fn include_usage_adds_one_usage_chunk() {
        let mock = MockUpstream::new("a b c".into());
        let events = mock.stream_events("id", "m", 0, 7, true);
        let usage: Vec<_> = events
            .iter()
            .map(|e| String::from_utf8_lossy(e).to_string())
            .filter(|e| e.contains("\"total_tokens\""))
            .collect();
        assert_eq!(usage.len(), 1);
        assert!(usage[0].contains("\"choices\":[]"));
        assert!(usage[0].contains("\"total_tokens\":10"));
    }
}
