//! `POST /v1/completions`, the legacy text-completion endpoint.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{
    ApiError, DONE_FRAME, InputItem, OpenAiRequest, StreamOptions, TextOrTokens, Usage, admit,
    wants_usage,
};
use crate::app::{SharedState, json_response, unix_secs};
use crate::faults::StreamFaults;
use crate::reply;
use crate::sse::SsePlan;

#[derive(Debug, Deserialize)]
pub(super) struct CompletionRequest {
    #[serde(default)]
    model: String,
    #[serde(default)]
    prompt: Option<TextOrTokens>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

impl OpenAiRequest for CompletionRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn validate(&self) -> Result<(), ApiError> {
        match self.prompt {
            Some(_) => Ok(()),
            None => Err(ApiError::missing_param("prompt")),
        }
    }
}

impl CompletionRequest {
    fn prompt_items(&self) -> Vec<InputItem<'_>> {
        self.prompt
            .as_ref()
            .map(TextOrTokens::items)
            .unwrap_or_default()
    }

    /// A batch of prompts is answered with one choice echoing them all, joined by
    /// spaces: enough for a gateway test, and keeps usage arithmetic simple.
    fn prompt_text(&self) -> String {
        self.prompt_items()
            .into_iter()
            .map(InputItem::text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn prompt_tokens(&self) -> u64 {
        self.prompt_items().into_iter().map(InputItem::tokens).sum()
    }
}

/// Used for the full response and every stream chunk alike: the legacy API sends
/// the same object type for both.
#[derive(Serialize)]
struct TextCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [Choice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct Choice<'a> {
    text: &'a str,
    index: u32,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

pub(super) async fn handle(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CompletionRequest = admit(&state, &headers, &body).await?;
    let reply =
        reply::override_from(&headers).unwrap_or_else(|| reply::echo(&request.prompt_text()));
    let usage = Usage::new(request.prompt_tokens(), reply::completion_tokens(&reply));
    let id = format!("cmpl-mock-{}", state.next_id());
    let created = unix_secs();

    if request.stream.unwrap_or(false) {
        let include_usage = wants_usage(request.stream_options.as_ref());
        let plan = stream_plan(&id, created, &request.model, &reply, usage, include_usage);
        return Ok(plan.into_response(StreamFaults::from_headers(&headers)));
    }

    let completion = TextCompletion {
        id: &id,
        object: "text_completion",
        created,
        model: &request.model,
        choices: &[Choice {
            text: &reply,
            index: 0,
            logprobs: None,
            finish_reason: Some("stop"),
        }],
        usage: Some(Some(usage)),
    };
    Ok(json_response(StatusCode::OK, &completion))
}

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
    let null_usage = include_usage.then_some(None);
    let mut push = |text: &str, finish_reason: Option<&'static str>| {
        let choices = [Choice {
            text,
            index: 0,
            logprobs: None,
            finish_reason,
        }];
        plan.push_data(&TextCompletion {
            id,
            object: "text_completion",
            created,
            model,
            choices: &choices,
            usage: null_usage,
        });
    };
    for piece in reply::stream_pieces(reply) {
        push(piece, None);
    }
    push("", Some("stop"));
    if include_usage {
        plan.push_data(&TextCompletion {
            id,
            object: "text_completion",
            created,
            model,
            choices: &[],
            usage: Some(Some(usage)),
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(body: Value) -> CompletionRequest {
        serde_json::from_value(body).expect("valid completion request")
    }

    #[test]
    fn prompt_forms_echo_and_count() {
        let single = parse(json!({"model": "m", "prompt": "Say this is a test"}));
        assert_eq!(single.prompt_text(), "Say this is a test");
        assert_eq!(single.prompt_tokens(), 5);

        let batch = parse(json!({"model": "m", "prompt": ["one two", "three"]}));
        assert_eq!(batch.prompt_text(), "one two three");
        assert_eq!(batch.prompt_tokens(), 3);

        let tokens = parse(json!({"model": "m", "prompt": [1, 2, 3]}));
        assert_eq!(tokens.prompt_text(), "1 2 3");
        assert_eq!(tokens.prompt_tokens(), 3);

        let missing = parse(json!({"model": "m"}));
        assert_eq!(missing.validate(), Err(ApiError::missing_param("prompt")));
    }

    #[test]
    fn stream_text_deltas_reconstruct_reply() {
        let reply = "Echo: a b";
        let plan = stream_plan("c", 1, "m", reply, Usage::new(2, 3), true);
        let chunks: Vec<Value> = plan
            .frames
            .iter()
            .map(|frame| {
                let text = std::str::from_utf8(frame).expect("utf-8");
                serde_json::from_str(text.trim_start_matches("data: ").trim_end())
                    .expect("JSON chunk")
            })
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["text"].as_str())
            .collect();
        assert_eq!(text, reply);
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        let last = &chunks[chunks.len() - 1];
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"]["total_tokens"], 5);
        assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    }
}
