//! Anthropic's SSE framing: `event: <type>` + `data: <json>` per event, in
//! the order the real API sends them, and no terminator (`message_stop` is
//! the last event).

use axum::body::Bytes;
use serde_json::{Value, json};

use super::{Reply, SIGNATURE, THINKING};
use crate::reply;
use crate::sse::SsePlan;

fn push(events: &mut Vec<Value>, event: &Value) {
    events.push(event.clone());
}

/// The events as Anthropic's SSE frames.
pub fn plan(id: &str, model: &str, reply: &Reply, input_tokens: u64, thinking: bool) -> SsePlan {
    let mut plan = SsePlan::default();
    for event in events(id, model, reply, input_tokens, thinking) {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        plan.frames
            .push(Bytes::from(format!("event: {kind}\ndata: {event}\n\n")));
    }
    plan
}

/// `message_start`, a thinking block when thinking is on, one content block
/// (text deltas per word, or a tool_use with its input JSON in two
/// fragments), `message_delta`, `message_stop` — the Messages API's events,
/// which Bedrock's InvokeModelWithResponseStream wraps in its own frames.
pub fn events(
    id: &str,
    model: &str,
    reply: &Reply,
    input_tokens: u64,
    thinking: bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    push(
        &mut out,
        &json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": super::usage_head(model, input_tokens, 1),
        }}),
    );
    let index = usize::from(thinking);
    if thinking {
        push(
            &mut out,
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        );
        push(
            &mut out,
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": THINKING}}),
        );
        push(
            &mut out,
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}}),
        );
        push(&mut out, &json!({"type": "content_block_stop", "index": 0}));
    }
    match reply {
        Reply::Text(text) => {
            push(
                &mut out,
                &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
            );
            push(&mut out, &json!({"type": "ping"}));
            for piece in reply::stream_pieces(text) {
                push(
                    &mut out,
                    &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
                );
            }
        }
        Reply::Tool { id, name, input } => {
            push(
                &mut out,
                &json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
            );
            push(&mut out, &json!({"type": "ping"}));
            let arguments = input.to_string();
            // Split on a char boundary so every fragment is valid UTF-8.
            let mut mid = arguments.len() / 2;
            while !arguments.is_char_boundary(mid) {
                mid -= 1;
            }
            for fragment in [&arguments[..mid], &arguments[mid..]] {
                push(
                    &mut out,
                    &json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}}),
                );
            }
        }
    }
    push(
        &mut out,
        &json!({"type": "content_block_stop", "index": index}),
    );
    push(
        &mut out,
        &json!({"type": "message_delta", "delta": {"stop_reason": reply.stop_reason(), "stop_sequence": null},
                "usage": {"output_tokens": reply.output_tokens()}}),
    );
    push(&mut out, &json!({"type": "message_stop"}));
    out
}
