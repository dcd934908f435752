//! The usage a provider's own answer reports, in whichever of the native
//! formats a pass-through relays: OpenAI chat / completions / embeddings
//! (`usage.prompt_tokens`), OpenAI's Responses API and Anthropic
//! (`usage.input_tokens`, which differ on whether cache reads are part of
//! it), Gemini (`usageMetadata`), Cohere (`usage.tokens`,
//! `meta.billed_units`) and Bedrock (`usage.inputTokens`). Streams report
//! it in their events (Anthropic's `message_start` / `message_delta`,
//! OpenAI's usage chunk, Responses' `response.completed`, Gemini's last
//! chunk, Bedrock's `metadata` event or `amazon-bedrock-invocationMetrics`);
//! [`StreamScanner`] reads them as the bytes pass, SSE lines or AWS
//! event-stream frames (`eventstream_usage`).

use crate::providers::stream::Usage;
use serde_json::Value;

/// What one answer used, with the prompt tokens written to the provider's
/// cache (part of `usage.prompt_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reported {
    pub usage: Usage,
    /// Billed queries (Cohere rerank's `meta.billed_units.search_units`),
    /// charged at the deployment's `input_cost_per_query`.
    pub search_units: u64,
    pub cache_creation: u64,
}

fn count(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// Anthropic's usage fields: `input_tokens` excludes cache reads and writes.
#[derive(Debug, Clone, Copy, Default)]
struct AnthropicCounts {
    input: Option<u64>,
    output: Option<u64>,
    read: Option<u64>,
    write: Option<u64>,
}

impl AnthropicCounts {
    fn of(usage: &Value) -> Self {
        Self {
            input: count(usage, "input_tokens"),
            output: count(usage, "output_tokens"),
            read: count(usage, "cache_read_input_tokens"),
            write: count(usage, "cache_creation_input_tokens"),
        }
    }

    fn merge(&mut self, later: AnthropicCounts) {
        self.input = later.input.or(self.input);
        self.output = later.output.or(self.output);
        self.read = later.read.or(self.read);
        self.write = later.write.or(self.write);
    }

    fn reported(&self) -> Reported {
        let (read, write) = (self.read.unwrap_or(0), self.write.unwrap_or(0));
        Reported {
            usage: Usage {
                prompt_tokens: self.input.unwrap_or(0) + read + write,
                completion_tokens: self.output.unwrap_or(0),
                cached_tokens: read,
            },
            cache_creation: write,
            search_units: 0,
        }
    }
}

/// The usage of one whole JSON answer (or one stream chunk that is not an
/// Anthropic or Responses event).
pub fn of_object(object: &Value) -> Option<Reported> {
    if let Some(meta) = object.get("usageMetadata") {
        let output = count(meta, "candidatesTokenCount").unwrap_or(0)
            + count(meta, "thoughtsTokenCount").unwrap_or(0);
        return Some(Reported {
            usage: Usage {
                prompt_tokens: count(meta, "promptTokenCount").unwrap_or(0),
                completion_tokens: output,
                cached_tokens: count(meta, "cachedContentTokenCount").unwrap_or(0),
            },
            cache_creation: 0,
            search_units: 0,
        });
    }
    if let Some(units) = object.get("meta").and_then(|m| m.get("billed_units")) {
        return Some(Reported {
            usage: Usage {
                prompt_tokens: count(units, "input_tokens").unwrap_or(0),
                completion_tokens: count(units, "output_tokens").unwrap_or(0),
                cached_tokens: 0,
            },
            search_units: count(units, "search_units").unwrap_or(0),
            cache_creation: 0,
        });
    }
    let usage = object.get("usage").filter(|u| u.is_object())?;
    // Cohere v2 reports both what the model read (`tokens`, with the
    // prompt template) and what it charges (`billed_units`): spend is what
    // the provider bills, as for v1's `meta.billed_units`.
    let cohere = ["billed_units", "tokens"]
        .iter()
        .find_map(|k| usage.get(*k).filter(|t| t.is_object()));
    if let Some(tokens) = cohere {
        return Some(Reported {
            usage: Usage {
                prompt_tokens: count(tokens, "input_tokens").unwrap_or(0),
                completion_tokens: count(tokens, "output_tokens").unwrap_or(0),
                cached_tokens: 0,
            },
            cache_creation: 0,
            search_units: 0,
        });
    }
    if usage.get("inputTokens").is_some() {
        return Some(Reported {
            usage: Usage {
                prompt_tokens: count(usage, "inputTokens").unwrap_or(0)
                    + count(usage, "cacheReadInputTokens").unwrap_or(0)
                    + count(usage, "cacheWriteInputTokens").unwrap_or(0),
                completion_tokens: count(usage, "outputTokens").unwrap_or(0),
                cached_tokens: count(usage, "cacheReadInputTokens").unwrap_or(0),
            },
            cache_creation: count(usage, "cacheWriteInputTokens").unwrap_or(0),
            search_units: 0,
        });
    }
    if usage.get("prompt_tokens").is_some() {
        let usage: Usage = serde_json::from_value(usage.clone()).ok()?;
        return Some(Reported {
            usage,
            cache_creation: 0,
            search_units: 0,
        });
    }
    if object.get("type").and_then(Value::as_str) == Some("message")
        || usage.get("cache_creation_input_tokens").is_some()
        || usage.get("cache_read_input_tokens").is_some()
    {
        return Some(AnthropicCounts::of(usage).reported());
    }
    if usage.get("input_tokens").is_some() {
        // OpenAI's Responses API: input includes the cached part.
        return Some(Reported {
            usage: Usage {
                prompt_tokens: count(usage, "input_tokens").unwrap_or(0),
                completion_tokens: count(usage, "output_tokens").unwrap_or(0),
                cached_tokens: usage
                    .get("input_tokens_details")
                    .and_then(|d| count(d, "cached_tokens"))
                    .unwrap_or(0),
            },
            cache_creation: 0,
            search_units: 0,
        });
    }
    None
}

pub fn of_body(body: &[u8]) -> Option<Reported> {
    of_object(&serde_json::from_slice(body).ok()?)
}

/// The usage of a stream's events so far, whatever their framing:
/// Anthropic's events add up (`message_start` then `message_delta`), any
/// other format's latest report is the whole call's.
#[derive(Debug, Default)]
pub struct Tally {
    anthropic: Option<AnthropicCounts>,
    latest: Option<Reported>,
}

impl Tally {
    /// One decoded event (an SSE `data:` object, an event-stream payload).
    pub fn event(&mut self, event: &Value) {
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(usage) = event.get("message").and_then(|m| m.get("usage")) {
                    self.anthropic
                        .get_or_insert_with(AnthropicCounts::default)
                        .merge(AnthropicCounts::of(usage));
                }
            }
            Some("message_delta") => {
                if let Some(usage) = event.get("usage") {
                    self.anthropic
                        .get_or_insert_with(AnthropicCounts::default)
                        .merge(AnthropicCounts::of(usage));
                }
            }
            // Cohere's v2 chat stream: the last event's `delta` has `usage`.
            Some("message-end") => {
                if let Some(reported) = event.get("delta").and_then(of_object) {
                    self.latest = Some(reported);
                }
            }
            Some(kind) if kind.starts_with("response.") => {
                if let Some(response) = event.get("response")
                    && let Some(reported) = of_object(response)
                {
                    self.latest = Some(reported);
                }
            }
            _ => {
                if let Some(reported) = of_object(event).or_else(|| invocation_metrics(event)) {
                    self.latest = Some(reported);
                }
            }
        }
    }

    /// What the stream reported so far.
    pub fn reported(&self) -> Option<Reported> {
        self.anthropic.map(|a| a.reported()).or(self.latest)
    }
}

/// Bedrock's `InvokeModelWithResponseStream` ends every model's stream with
/// `amazon-bedrock-invocationMetrics` (the only usage a Llama or Titan
/// stream carries; Anthropic's own events, which come first, win over it).
fn invocation_metrics(event: &Value) -> Option<Reported> {
    let metrics = event.get("amazon-bedrock-invocationMetrics")?;
    let read = count(metrics, "cacheReadInputTokenCount").unwrap_or(0);
    let write = count(metrics, "cacheWriteInputTokenCount").unwrap_or(0);
    Some(Reported {
        usage: Usage {
            prompt_tokens: count(metrics, "inputTokenCount").unwrap_or(0) + read + write,
            completion_tokens: count(metrics, "outputTokenCount").unwrap_or(0),
            cached_tokens: read,
        },
        cache_creation: write,
        search_units: 0,
    })
}

/// Reads usage out of an SSE stream as its bytes pass, without holding
/// more than the current line.
#[derive(Debug, Default)]
pub struct Scanner {
    line: Vec<u8>,
    tally: Tally,
}

impl Scanner {
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(&line);
            } else if self.line.len() < crate::http::MAX_BODY_BYTES {
                self.line.push(b);
            }
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        // Most events carry no usage: skip the parse.
        if !data.windows(5).any(|w| w == b"sage\"" || w == b"Metad") {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Value>(data.trim_ascii_start()) else {
            return;
        };
        self.tally.event(&event);
    }

    /// What the stream reported so far.
    pub fn reported(&self) -> Option<Reported> {
        self.tally.reported()
    }
}

/// A relayed stream's usage reader, chosen by the answer's framing: AWS's
/// binary event stream (Bedrock's `…-stream` operations), else SSE.
#[derive(Debug)]
pub enum StreamScanner {
    Sse(Scanner),
    EventStream(super::eventstream_usage::EventStreamScanner),
}

impl StreamScanner {
    pub fn for_content_type(content_type: Option<&str>) -> Self {
        match content_type {
            Some(t) if t.contains("vnd.amazon.eventstream") => {
                Self::EventStream(super::eventstream_usage::EventStreamScanner::default())
            }
            _ => Self::Sse(Scanner::default()),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            Self::Sse(s) => s.feed(bytes),
            Self::EventStream(s) => s.feed(bytes),
        }
    }

    pub fn reported(&self) -> Option<Reported> {
        match self {
            Self::Sse(s) => s.reported(),
            Self::EventStream(s) => s.reported(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(prompt: u64, completion: u64, cached: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
        }
    }

    #[test]
    fn every_native_format_is_read() {
        let cases = [
            (
                json!({"object": "chat.completion", "usage": {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 1}}}),
                usage(5, 2, 1),
                0,
            ),
            (
                json!({"type": "message", "usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 4}}),
                usage(12, 2, 3),
                4,
            ),
            (
                json!({"object": "response", "usage": {"input_tokens": 5, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 1}}}),
                usage(5, 2, 1),
                0,
            ),
            (
                json!({"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 1}}),
                usage(5, 3, 0),
                0,
            ),
            (
                json!({"usage": {"inputTokens": 5, "outputTokens": 2}}),
                usage(5, 2, 0),
                0,
            ),
            (
                json!({"usage": {"tokens": {"input_tokens": 5, "output_tokens": 2}}}),
                usage(5, 2, 0),
                0,
            ),
            (
                json!({"meta": {"billed_units": {"input_tokens": 5, "output_tokens": 2}}}),
                usage(5, 2, 0),
                0,
            ),
        ];
        for (body, expected, writes) in cases {
            assert_eq!(
                of_object(&body),
                Some(Reported {
                    usage: expected,
                    cache_creation: writes,
                    search_units: 0
                }),
                "{body}"
            );
        }
        assert_eq!(of_body(b"{\"data\": []}"), None);
        assert_eq!(of_body(b"not json"), None);
    }

    #[test]
    fn streams_are_scanned_across_any_chunking() {
        let anthropic = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4,\"output_tokens\":1,\"cache_creation_input_tokens\":2}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\\\"\"}}\n\n",
            "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\r\n\r\n",
        );
        let cohere = concat!(
            "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"usage\\\"\"}}}}\n\n",
            "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":5,\"output_tokens\":2},\"tokens\":{\"input_tokens\":71,\"output_tokens\":2}}}}\n\n",
        );
        let openai = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n";
        for (text, expected) in [
            (
                anthropic,
                Reported {
                    usage: usage(6, 9, 0),
                    cache_creation: 2,
                    search_units: 0,
                },
            ),
            (
                openai,
                Reported {
                    usage: usage(3, 4, 0),
                    cache_creation: 0,
                    search_units: 0,
                },
            ),
            (
                // The billed units, not the tokens the model read.
                cohere,
                Reported {
                    usage: usage(5, 2, 0),
                    cache_creation: 0,
                    search_units: 0,
                },
            ),
        ] {
            for cut in [1, 7, 50, text.len()] {
                let mut scanner = Scanner::default();
                for piece in text.as_bytes().chunks(cut) {
                    scanner.feed(piece);
                }
                assert_eq!(scanner.reported(), Some(expected), "cut {cut}");
            }
        }
    }
}
