//! Streams: OpenAI-format SSE in from providers, SSE out to clients, with
//! accounting of what passed.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;

use super::chat::{ChunkStream, StreamEvent};
use super::error::ProviderError;

/// Token usage as OpenAI reports it.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(from = "WireUsage")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens served from the provider's cache (part of
    /// `prompt_tokens`): OpenAI's `prompt_tokens_details.cached_tokens`, or
    /// what a translator read from the provider's own field.
    pub cached_tokens: u64,
}

impl Usage {
    /// OpenAI's `usage` object: the counts, their total, and the cached
    /// part of the prompt when there is one. Translators add what their
    /// provider reports beyond it.
    pub fn openai_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        });
        if self.cached_tokens > 0 {
            out["prompt_tokens_details"] = serde_json::json!({"cached_tokens": self.cached_tokens});
        }
        out
    }
}

/// OpenAI's `usage` object as it arrives; `cache_read_input_tokens` is
/// what LiteLLM-shaped (Anthropic-derived) usage carries instead.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(w: WireUsage) -> Self {
        Usage {
            prompt_tokens: w.prompt_tokens,
            completion_tokens: w.completion_tokens,
            cached_tokens: w
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .or(w.cache_read_input_tokens)
                .unwrap_or(0),
        }
    }
}

/// Observes a stream as it passes. Implementors record usage when dropped,
/// so a client that disconnects mid-stream is still accounted for.
pub trait StreamAccounting: Send + 'static {
    fn first_chunk(&mut self);
    /// Every frame relayed to the client, before the provider's usage is
    /// known: a stream that ends (or is dropped) without usage is counted
    /// from these. Implementations keep a cheap `Bytes` handle, no parse.
    fn relayed(&mut self, frame: &Bytes);
    fn usage(&mut self, usage: Usage);
    fn completed(&mut self);
    fn failed(&mut self, error_type: &str);
    /// For a completed stream that carried no usage: the usage it is
    /// charged, counted now (and kept, so the record agrees); `None` when
    /// the provider reported usage or nothing can be counted.
    fn counted_usage(&mut self) -> Option<Usage>;
}

/// Turns a provider's chunk stream into the client's SSE body: each frame
/// as it arrives, `[DONE]` at the end, an error frame (and no `[DONE]`) if
/// the provider broke off — never a silent hang or a truncated success.
/// `usage_chunk`: the client asked for `stream_options.include_usage`; when
/// the provider sent no usage, the tokenizer's count is sent in OpenAI's
/// usage chunk, so the client sees what it is charged.
pub fn sse_body<A: StreamAccounting>(
    mut chunks: ChunkStream,
    mut accounting: A,
    usage_chunk: bool,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    async_stream::stream! {
        let mut first = true;
        let mut usage_relayed = false;
        let mut last: Option<Bytes> = None;
        while let Some(event) = chunks.next().await {
            match event {
                StreamEvent::Data { frame, usage } => {
                    if first {
                        accounting.first_chunk();
                        first = false;
                    }
                    let has_usage = usage.is_some();
                    if let Some(usage) = usage {
                        accounting.usage(usage);
                    }
                    // Empty frames carry only accounting (a usage chunk the
                    // client did not ask for).
                    if !frame.is_empty() {
                        usage_relayed |= has_usage;
                        accounting.relayed(&frame);
                        if usage_chunk {
                            last = Some(frame.clone());
                        }
                        yield Ok(frame);
                    }
                }
                StreamEvent::Error { frame, error_type } => {
                    accounting.failed(error_type);
                    yield Ok(frame);
                    return;
                }
            }
        }
        accounting.completed();
        if usage_chunk
            && !usage_relayed
            && let Some(usage) = accounting.counted_usage()
            && let Some(frame) = last.as_ref().and_then(|last| usage_frame(last, usage))
        {
            yield Ok(frame);
        }
        yield Ok(Bytes::from_static(b"data: [DONE]\n\n"));
    }
}

/// OpenAI's final usage chunk (no choices), with the id, object, created
/// and model of the stream's last chunk.
fn usage_frame(last: &Bytes, usage: Usage) -> Option<Bytes> {
    let data = last.strip_prefix(b"data: ")?;
    let previous: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(data).ok()?;
    let mut chunk = serde_json::Map::new();
    for key in ["id", "object", "created", "model", "system_fingerprint"] {
        if let Some(value) = previous.get(key) {
            chunk.insert(key.into(), value.clone());
        }
    }
    chunk.insert("choices".into(), serde_json::Value::Array(Vec::new()));
    chunk.insert("usage".into(), usage.openai_json());
    let mut frame = b"data: ".to_vec();
    serde_json::to_writer(&mut frame, &chunk).ok()?;
    frame.extend_from_slice(b"\n\n");
    Some(Bytes::from(frame))
}

/// An OpenAI-format SSE response body as chunk events. `[DONE]` ends it;
/// a body that ends without `[DONE]` (some compatible servers) ends it too.
pub fn openai_events(body: hyper::body::Incoming) -> ChunkStream {
    openai_events_keeping_usage_chunk(body, true, None)
}

/// Asks an OpenAI-format provider for the usage chunk whatever the client
/// asked: a stream without usage cannot be billed (LiteLLM's streamed
/// requests logged at $0, #37923). Pair with
/// [`openai_events_keeping_usage_chunk`] so a client that did not ask does
/// not receive it.
pub fn request_stream_usage(body: &mut serde_json::Map<String, serde_json::Value>) {
    let options = body
        .entry("stream_options")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if let serde_json::Value::Object(options) = options {
        options.insert("include_usage".into(), serde_json::Value::Bool(true));
    }
}

/// Like [`openai_events`], dropping the final usage-only chunk (empty
/// `choices`) when `keep` is false — its usage still reaches accounting —
/// and with each chunk's `model` set to `model_group` when given
/// (`model_field`).
pub fn openai_events_keeping_usage_chunk(
    body: hyper::body::Incoming,
    keep: bool,
    model_group: Option<String>,
) -> ChunkStream {
    events_from(http_body_util::BodyDataStream::new(body), keep, model_group)
}

/// The parser behind [`openai_events`], over any byte stream (tests feed it
/// arbitrary chunkings).
fn events_from<S, E>(bytes: S, keep: bool, model_group: Option<String>) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    Box::pin(async_stream::stream! {
        let mut events = std::pin::pin!(super::sse::parse(bytes));
        while let Some(event) = events.next().await {
            match event {
                Ok(event) if event.data == "[DONE]" => return,
                Ok(event) => {
                    let usage = usage_of(&event.data);
                    if usage.is_some() && !keep && is_usage_only(&event.data) {
                        yield StreamEvent::Data { frame: Bytes::new(), usage };
                        continue;
                    }
                    let renamed = model_group
                        .as_deref()
                        .and_then(|m| super::model_field::replace_model(event.data.as_bytes(), m));
                    let data = renamed.as_deref().unwrap_or(event.data.as_bytes());
                    let mut frame = Vec::with_capacity(data.len() + 8);
                    frame.extend_from_slice(b"data: ");
                    frame.extend_from_slice(data);
                    frame.extend_from_slice(b"\n\n");
                    yield StreamEvent::Data { frame: Bytes::from(frame), usage };
                }
                Err(e) => {
                    yield StreamEvent::Error {
                        frame: error_event(&format!("the provider's stream broke: {e}"), "api_connection_error"),
                        error_type: "api_connection_error",
                    };
                    return;
                }
            }
        }
    })
}

/// Parses `usage` only from chunks that can carry it; most chunks skip the
/// JSON parse entirely.
pub fn usage_of(data: &str) -> Option<Usage> {
    if !carries_usage(data.as_bytes()) {
        return None;
    }
    #[derive(Deserialize)]
    struct Chunk {
        usage: Option<Usage>,
    }
    serde_json::from_str::<Chunk>(data).ok()?.usage
}

/// Has `data` a `"usage"` key whose value is an object? OpenAI sends
/// `"usage": null` on every chunk but the last when usage is asked for (and
/// Tollgate always asks): those skip the parse (callgrind: the full parse
/// of every chunk was a tenth of a streamed request's instructions). A
/// `"usage"` inside a string is escaped (`\"usage\"`), so it never matches.
fn carries_usage(data: &[u8]) -> bool {
    fn skip_ws(b: &[u8]) -> &[u8] {
        let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
        &b[n..]
    }
    memchr::memmem::find_iter(data, b"\"usage\"").any(|at| {
        let rest = skip_ws(&data[at + b"\"usage\"".len()..]);
        rest.first() == Some(&b':') && skip_ws(&rest[1..]).first() == Some(&b'{')
    })
}

/// `usage` of a whole OpenAI-format body (chat, text completion,
/// embeddings); zero where the body has none.
pub fn usage_in_body(body: &[u8]) -> Usage {
    #[derive(Deserialize)]
    struct WithUsage {
        usage: Option<Usage>,
    }
    serde_json::from_slice::<WithUsage>(body)
        .ok()
        .and_then(|r| r.usage)
        .unwrap_or_default()
}

fn is_usage_only(data: &str) -> bool {
    #[derive(Deserialize)]
    struct Chunk {
        #[serde(default)]
        choices: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Chunk>(data).is_ok_and(|c| c.choices.is_empty())
}

/// An error as an SSE event in OpenAI's error shape.
pub fn error_event(message: &str, kind: &str) -> Bytes {
    let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": "500"}});
    Bytes::from(format!("data: {body}\n\n"))
}

/// A provider's error as an SSE event in OpenAI's error shape, its param
/// and code kept.
pub fn provider_error_event(e: &ProviderError) -> Bytes {
    let body = serde_json::json!({"error": {"message": e.message, "type": e.kind, "param": e.param, "code": e.code}});
    Bytes::from(format!("data: {body}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Frames (as text) and usages the parser yields for `chunks`.
    fn parse(chunks: Vec<Vec<u8>>, keep: bool) -> Vec<(String, Option<Usage>, bool)> {
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from(c))),
        );
        futures::executor::block_on(events_from(stream, keep, None).collect::<Vec<_>>())
            .into_iter()
            .map(|e| match e {
                StreamEvent::Data { frame, usage } => {
                    (String::from_utf8_lossy(&frame).into_owned(), usage, false)
                }
                StreamEvent::Error { frame, .. } => {
                    (String::from_utf8_lossy(&frame).into_owned(), None, true)
                }
            })
            .collect()
    }

    const STREAM: &str = concat!(
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hé\"}}],\"usage\":null}\r\n\r\n",
        ": a comment\n\n",
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn only_a_usage_object_is_parsed() {
        let usage = Some(Usage {
            prompt_tokens: 1,
            completion_tokens: 2,
            cached_tokens: 0,
        });
        let object = r#"{"choices":[],"usage" : {"prompt_tokens":1,"completion_tokens":2}}"#;
        assert_eq!(usage_of(object), usage);
        assert_eq!(
            usage_of(r#"{"choices":[{"delta":{"content":"x"}}],"usage":null}"#),
            None
        );
        // The word in content (escaped quotes) is not the key.
        assert_eq!(
            usage_of(r#"{"choices":[{"delta":{"content":"\"usage\": {"}}]}"#),
            None
        );
        // A string value "usage" before the real key does not hide it.
        let both = r#"{"k":"usage","usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert_eq!(usage_of(both), usage);
    }

    #[test]
    fn usage_chunk_is_kept_or_dropped_but_always_counted() {
        let kept = parse(vec![STREAM.as_bytes().to_vec()], true);
        assert_eq!(kept.len(), 4);
        assert!(kept[3].0.contains("\"choices\":[]"));
        assert_eq!(
            kept[3].1,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 5,
                cached_tokens: 0,
            })
        );
        let dropped = parse(vec![STREAM.as_bytes().to_vec()], false);
        assert_eq!(dropped.len(), 4);
        assert_eq!(
            dropped[3],
            (
                String::new(),
                Some(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 5,
                    cached_tokens: 0,
                }),
                false
            )
        );
        assert!(kept.iter().chain(&dropped).all(|(_, _, error)| !error));
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_events(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..12)) {
            let bytes = STREAM.as_bytes();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts {
                chunks.push(bytes[start..cut].to_vec());
                start = cut;
            }
            chunks.push(bytes[start..].to_vec());
            prop_assert_eq!(parse(chunks, false), parse(vec![bytes.to_vec()], false));
        }

        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let _ = parse(chunks, true);
        }
    }

    #[test]
    fn cached_tokens_are_read_from_openai_or_litellm_fields() {
        let openai = r#"{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":6}}}"#;
        assert_eq!(
            usage_of(openai),
            Some(Usage {
                prompt_tokens: 10,
                completion_tokens: 2,
                cached_tokens: 6
            })
        );
        let litellm = r#"{"usage":{"prompt_tokens":10,"completion_tokens":2,"cache_read_input_tokens":3,"prompt_tokens_details":null}}"#;
        assert_eq!(usage_of(litellm).map(|u| u.cached_tokens), Some(3));
    }

    #[test]
    fn usage_is_read_only_where_present() {
        assert_eq!(
            usage_of(r#"{"choices":[{"delta":{"content":"hi"}}]}"#),
            None
        );
        assert_eq!(usage_of(r#"{"choices":[],"usage":null}"#), None);
        assert_eq!(
            usage_of(
                r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#
            ),
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 5,
                cached_tokens: 0,
            })
        );
    }
}
