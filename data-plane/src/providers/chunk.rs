//! OpenAI `chat.completion.chunk` objects for the providers whose streams
//! are translated chunk by chunk (Gemini, Ollama): what every chunk of one
//! stream shares, and the shapes OpenAI streams.

use serde::Serialize;
use serde_json::{Value, json};

/// What every chunk of one stream shares.
pub struct ChunkHead {
    pub id: String,
    /// The model group the client asked for.
    pub model: String,
    pub created: u64,
    /// The client asked for a usage chunk: every other chunk carries
    /// `usage: null`, as OpenAI sends them.
    pub include_usage: bool,
}

impl ChunkHead {
    /// A chunk for choice `index`.
    pub fn chunk(&self, index: u64, delta: Value, finish: Option<&str>) -> Value {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    /// The last chunk of a stream that asked for usage: no choices.
    pub fn usage_chunk(&self, usage: Value) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": [], "usage": usage})
    }

    /// A tool call of choice `index` as OpenAI streams one: id and name
    /// first, then the arguments.
    pub fn tool_call(
        &self,
        index: u64,
        tool_index: usize,
        id: impl Serialize,
        name: impl Serialize,
        arguments: impl Serialize,
    ) -> [Value; 2] {
        let head = json!({"tool_calls": [{"index": tool_index, "id": id, "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        let args =
            json!({"tool_calls": [{"index": tool_index, "function": {"arguments": arguments}}]});
        [self.chunk(index, head, None), self.chunk(index, args, None)]
    }
}
