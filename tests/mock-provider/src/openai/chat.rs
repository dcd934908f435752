//! `POST /v1/chat/completions`.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{ApiError, DONE_FRAME, OpenAiRequest, StreamOptions, admit, wants_usage};
use crate::app::{SharedState, json_response, unix_secs};
use crate::faults::StreamFaults;
use crate::reply;
use crate::sse::SsePlan;

const SYSTEM_FINGERPRINT: &str = "fp_mock";

/// A model name containing this answers without `usage`, streamed (even
/// when `stream_options.include_usage` asks for it) or not: how a gateway's
/// own token counting is tested.
const NO_USAGE_MARKER: &str = "no-usage";
/// A model name containing `chunk-delay-<ms>` waits that long between
/// stream chunks (the `x-mock-chunk-delay-ms` header, for callers that can
/// only choose the model).
const CHUNK_DELAY_MARKER: &str = "chunk-delay-";

/// OpenAI's `usage`, with the cache details when there are any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Usage {
    #[serde(flatten)]
    counts: super::Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct PromptTokensDetails {
    cached_tokens: u64,
}

impl Usage {
    fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            counts: super::Usage::new(prompt_tokens, completion_tokens),
            prompt_tokens_details: None,
        }
    }

    fn with_cache_of(mut self, model: &str) -> Self {
        // OpenAI reports them in `usage.prompt_tokens_details.cached_tokens`.
        if model.contains(crate::markers::CACHED) {
            self.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: crate::markers::cached_of(model, self.counts.prompt_tokens),
            });
        }
        self
    }
}

fn omits_usage(model: &str) -> bool {
    model.contains(NO_USAGE_MARKER)
}

fn model_chunk_delay(model: &str) -> Option<std::time::Duration> {
    crate::markers::number_after(model, CHUNK_DELAY_MARKER).map(std::time::Duration::from_millis)
}

#[derive(Debug, Deserialize)]
pub(super) struct ChatRequest {
    #[serde(default)]
    model: String,
    #[serde(default)]
    messages: Option<Vec<Message>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

/// A content part; only `text` parts carry words, images and audio are ignored.
#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl Content {
    fn texts(&self) -> impl Iterator<Item = &str> {
        let (single, parts) = match self {
            Self::Text(text) => (Some(text.as_str()), &[][..]),
            Self::Parts(parts) => (None, parts.as_slice()),
        };
        single.into_iter().chain(
            parts
                .iter()
                .filter(|part| part.kind == "text")
                .filter_map(|part| part.text.as_deref()),
        )
    }

    fn joined_text(&self) -> Cow<'_, str> {
        match self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Parts(_) => Cow::Owned(self.texts().collect::<Vec<_>>().join(" ")),
        }
    }
}

impl OpenAiRequest for ChatRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn validate(&self) -> Result<(), ApiError> {
        match self.messages {
            Some(_) => Ok(()),
            None => Err(ApiError::missing_param("messages")),
        }
    }
}

impl ChatRequest {
    fn messages(&self) -> &[Message] {
        self.messages.as_deref().unwrap_or_default()
    }

    /// Text of the last user message; earlier user turns are ignored on purpose,
    /// so a test can see which turn the gateway actually forwarded last.
    fn last_user_text(&self) -> Cow<'_, str> {
        self.messages()
            .iter()
            .rev()
            .find(|message| message.role == "user")
            .and_then(|message| message.content.as_ref())
            .map_or(Cow::Borrowed(""), Content::joined_text)
    }

    /// Words in every message's text, plus one per message for the role marker.
    fn prompt_tokens(&self) -> u64 {
        self.messages()
            .iter()
            .map(|message| {
                let words: u64 = message
                    .content
                    .iter()
                    .flat_map(Content::texts)
                    .map(reply::word_count)
                    .sum();
                words + 1
            })
            .sum()
    }
}

#[derive(Serialize)]
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: [Choice<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct ChatChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: &'a [ChunkChoice<'a>],
    /// Absent unless usage was requested; then `null` on every chunk but the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

pub(super) async fn handle(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ChatRequest = admit(&state, &headers, &body).await?;
    let reply =
        reply::override_from(&headers).unwrap_or_else(|| reply::echo(&request.last_user_text()));
    let usage = Usage::new(request.prompt_tokens(), reply::completion_tokens(&reply))
        .with_cache_of(&request.model);
    let id = format!("chatcmpl-mock-{}", state.next_id());
    let created = unix_secs();

    let no_usage = omits_usage(&request.model);
    if let Some(call) = super::tools::tool_call(&request.model, &body, &request.last_user_text()) {
        let answer = super::tools::Answer {
            id: &id,
            call_id: format!("call_mock_{}", state.next_id()),
            created,
            model: &request.model,
            prompt_tokens: request.prompt_tokens(),
        };
        if request.stream.unwrap_or(false) {
            let include_usage = wants_usage(request.stream_options.as_ref());
            let faults = StreamFaults::for_request(&headers, &request.model);
            return Ok(super::tools::stream(&answer, &call, include_usage, faults));
        }
        return Ok(super::tools::complete(&answer, &call));
    }
    if request.stream.unwrap_or(false) {
        let include_usage = wants_usage(request.stream_options.as_ref()) && !no_usage;
        let plan = stream_plan(&id, created, &request.model, &reply, usage, include_usage);
        let mut faults = StreamFaults::for_request(&headers, &request.model);
        faults.chunk_delay = faults
            .chunk_delay
            .or_else(|| model_chunk_delay(&request.model));
        return Ok(plan.into_response(faults));
    }

    let completion = ChatCompletion {
        id: &id,
        object: "chat.completion",
        created,
        model: &request.model,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: &reply,
                refusal: None,
            },
            logprobs: None,
            finish_reason: "stop",
        }],
        usage: (!no_usage).then_some(usage),
    };
    Ok(json_response(StatusCode::OK, &completion))
}

/// What every chunk of one stream shares.
struct ChunkHead<'a> {
    id: &'a str,
    created: u64,
    model: &'a str,
    /// `usage` of the content chunks: absent, or `null` when usage was requested.
    usage: Option<Option<Usage>>,
}

impl ChunkHead<'_> {
    fn chunk<'c>(
        &'c self,
        choices: &'c [ChunkChoice<'c>],
        usage: Option<Option<Usage>>,
    ) -> ChatChunk<'c> {
        ChatChunk {
            id: self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: self.model,
            system_fingerprint: SYSTEM_FINGERPRINT,
            choices,
            usage,
        }
    }

    fn push(&self, plan: &mut SsePlan, delta: Delta<'_>, finish_reason: Option<&'static str>) {
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        }];
        plan.push_data(&self.chunk(&choices, self.usage));
    }
}

/// The chunk sequence OpenAI sends: a role chunk, one content chunk per word, a
/// finish chunk, then (only when asked) a usage chunk with no choices.
fn stream_plan(
    id: &str,
    created: u64,
    model: &str,
    reply: &str,
    usage: Usage,
    include_usage: bool,
) -> SsePlan {
    let mut plan = SsePlan {
        terminator: Some(Bytes::from_static(DONE_FRAME)),
        ..SsePlan::default()
    };
    let chunks = ChunkHead {
        id,
        created,
        model,
        usage: include_usage.then_some(None),
    };
    let role = Delta {
        role: Some("assistant"),
        content: Some(""),
    };
    chunks.push(&mut plan, role, None);
    for piece in reply::stream_pieces(reply) {
        let content = Delta {
            role: None,
            content: Some(piece),
        };
        chunks.push(&mut plan, content, None);
    }
    let finish = Delta {
        role: None,
        content: None,
    };
    chunks.push(&mut plan, finish, Some("stop"));
    if include_usage {
        plan.push_data(&chunks.chunk(&[], Some(Some(usage))));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(body: Value) -> ChatRequest {
        serde_json::from_value(body).expect("valid chat request")
    }

    fn chunks(plan: &SsePlan) -> Vec<Value> {
        plan.frames
            .iter()
            .map(|frame| {
                let text = std::str::from_utf8(frame).expect("utf-8 frame");
                let json = text
                    .strip_prefix("data: ")
                    .and_then(|t| t.strip_suffix("\n\n"))
                    .expect("data frame");
                serde_json::from_str(json).expect("JSON chunk")
            })
            .collect()
    }

    #[test]
    fn reply_echoes_last_user_string_content() {
        let request = parse(json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second question"},
        ]}));
        assert_eq!(request.last_user_text(), "second question");
    }

    #[test]
    fn reply_joins_text_parts_and_skips_others() {
        let request = parse(json!({"model": "m", "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look at"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "this"},
            ]},
        ]}));
        assert_eq!(request.last_user_text(), "look at this");
        assert_eq!(request.prompt_tokens(), 3 + 1);
    }

    #[test]
    fn reply_without_user_text_is_empty() {
        let request = parse(json!({"model": "m", "messages": [
            {"role": "system", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": []},
        ]}));
        assert_eq!(request.last_user_text(), "");
        assert_eq!(reply::echo(&request.last_user_text()), "Echo: ");
    }

    #[test]
    fn prompt_tokens_count_words_plus_one_per_message() {
        let request = parse(json!({"model": "m", "messages": [
            {"role": "system", "content": "You are  helpful."},
            {"role": "user", "content": "Say hello"},
            {"role": "assistant"},
        ]}));
        assert_eq!(request.prompt_tokens(), (3 + 1) + (2 + 1) + 1);
    }

    #[test]
    fn model_names_switch_usage_off_and_slow_streams_down() {
        assert!(omits_usage("gpt-3.5-turbo-no-usage"));
        assert!(!omits_usage("gpt-4o-mini"));
        assert_eq!(
            model_chunk_delay("gpt-4o-chunk-delay-150"),
            Some(std::time::Duration::from_millis(150))
        );
        assert_eq!(
            model_chunk_delay("no-usage-chunk-delay-20-x"),
            Some(std::time::Duration::from_millis(20))
        );
        assert_eq!(model_chunk_delay("gpt-4o"), None);
        assert_eq!(model_chunk_delay("chunk-delay-"), None);
    }

    #[test]
    fn cached_marker_reports_cached_prompt_tokens() {
        let usage = Usage::new(5, 2).with_cache_of("gpt-4o-cached-3");
        assert_eq!(
            serde_json::to_value(usage).expect("json"),
            json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 3}})
        );
        let capped = Usage::new(5, 2).with_cache_of("cached-99");
        assert_eq!(
            capped.prompt_tokens_details.map(|d| d.cached_tokens),
            Some(5)
        );
        assert_eq!(
            Usage::new(5, 2)
                .with_cache_of("gpt-4o")
                .prompt_tokens_details,
            None
        );
    }

    #[test]
    fn missing_messages_fails_validation() {
        let request = parse(json!({"model": "m"}));
        assert_eq!(request.validate(), Err(ApiError::missing_param("messages")));
    }

    #[test]
    fn stream_deltas_reconstruct_the_reply() {
        let reply = "Echo: hello  big\nworld";
        let plan = stream_plan("id-1", 7, "m", reply, Usage::new(1, 4), false);
        let chunks = chunks(&plan);

        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, reply);
        // Role chunk, 4 words, finish chunk.
        assert_eq!(chunks.len(), 6);

        let last = chunks.last().expect("finish chunk");
        assert_eq!(last["choices"][0]["delta"], json!({}));
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        for chunk in &chunks {
            assert_eq!(chunk["id"], "id-1");
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["system_fingerprint"], "fp_mock");
            assert!(chunk.get("usage").is_none());
        }
        assert_eq!(plan.terminator.as_deref(), Some(DONE_FRAME));
    }

    #[test]
    fn include_usage_adds_exactly_one_usage_chunk() {
        let usage = Usage::new(5, 2);
        let plan = stream_plan("id", 7, "m", "Echo: hi", usage, true);
        let chunks = chunks(&plan);
        let with_usage: Vec<_> = chunks.iter().filter(|c| !c["usage"].is_null()).collect();
        assert_eq!(with_usage.len(), 1);
        let last = chunks.last().expect("usage chunk");
        assert_eq!(last["choices"], json!([]));
        assert_eq!(
            last["usage"],
            json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})
        );
        for chunk in &chunks[..chunks.len() - 1] {
            assert_eq!(chunk.get("usage"), Some(&Value::Null));
        }
    }
}
