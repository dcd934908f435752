//! Token counting for requests whose provider reported no usage: a stream
//! without a usage chunk, a body without `usage`, a client gone before the
//! usage arrived. Never runs when the provider's usage is known.
//!
//! The rule (OpenAI's published one for chat, also what LiteLLM's
//! `token_counter` does): each message costs 3 tokens plus its role, its
//! text parts, its tool calls' names and arguments, and 1 + its `name`;
//! the reply is primed with 3 more. The completion is the tokens of the
//! generated text plus those of tool-call names and arguments. Text is
//! encoded as ordinary text (special-token strings are not special here).

mod bpe;
mod vocabulary;

use bpe::Bpe;
use bytes::Bytes;
use serde_json::Value;
use std::sync::LazyLock;

/// Tokens every chat message costs besides its content.
const TOKENS_PER_MESSAGE: u64 = 3;
/// A message's `name` costs this much besides its text.
const TOKENS_PER_NAME: u64 = 1;
/// The assistant reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: u64 = 3;

/// tiktoken's split patterns (`tiktoken_ext/openai_public.py`).
const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+(?!\S)",
    "|",
    r"\s+"
);
const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

// The vocabularies are compiled in (`assets/tokenizer/`, `vocabulary.rs`
// says why in that form); indexing one takes a few milliseconds: once,
// lazily, and only for a request that needs it.
static O200K: LazyLock<Option<Bpe>> = LazyLock::new(|| {
    build(
        "o200k",
        include_bytes!("../../../assets/tokenizer/o200k_base.vocab"),
        O200K_PATTERN,
    )
});
static CL100K: LazyLock<Option<Bpe>> = LazyLock::new(|| {
    build(
        "cl100k",
        include_bytes!("../../../assets/tokenizer/cl100k_base.vocab"),
        CL100K_PATTERN,
    )
});

fn build(name: &str, vocabulary: &'static [u8], pattern: &str) -> Option<Bpe> {
    Bpe::new(vocabulary, pattern)
        .inspect_err(|e| tracing::error!("the {name} tokenizer cannot be built: {e}"))
        .ok()
}

/// The tokenizer family of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// gpt-4o, gpt-4.1, gpt-5, o-series, and every model we do not know.
    O200k,
    /// gpt-4, gpt-3.5, the ada-002 / text-embedding-3 families.
    Cl100k,
}

impl Encoding {
    /// From the upstream model name (provider prefix and path stripped).
    pub fn for_model(model: &str) -> Encoding {
        let name = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let older = [
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-",
            "davinci-002",
            "babbage-002",
        ];
        let newer = ["gpt-4o", "gpt-4.1", "gpt-4.5", "chatgpt-4o"];
        if older.iter().any(|p| name.starts_with(p)) && !newer.iter().any(|p| name.starts_with(p)) {
            Encoding::Cl100k
        } else {
            Encoding::O200k
        }
    }

    fn bpe(self) -> Option<&'static Bpe> {
        match self {
            Encoding::O200k => O200K.as_ref(),
            Encoding::Cl100k => CL100K.as_ref(),
        }
    }

    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match self.bpe() {
            Some(bpe) => bpe.count(text),
            // The vocabulary is compiled in; failing to build it is a bug,
            // and an estimate (OpenAI's 4 characters per token) beats 0.
            None => (text.chars().count() as u64).div_ceil(4),
        }
    }
}

/// What the request asked the model: the prompt side of the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `messages` of a chat completion.
    Chat,
    /// `prompt` of a legacy text completion.
    Text,
}

/// Prompt tokens of a raw request body (the client's JSON, as received).
pub fn prompt_tokens(encoding: Encoding, kind: PromptKind, request: &[u8]) -> u64 {
    let Ok(body) = serde_json::from_slice::<Value>(request) else {
        return 0;
    };
    match kind {
        PromptKind::Chat => match body.get("messages") {
            Some(Value::Array(messages)) => chat_prompt_tokens(encoding, messages),
            _ => 0,
        },
        PromptKind::Text => body
            .get("prompt")
            .map_or(0, |prompt| text_prompt_tokens(encoding, prompt)),
    }
}

/// A text completion's `prompt` (or an embedding's `input`): a string, an
/// array of strings, or token ids.
pub fn text_prompt_tokens(encoding: Encoding, prompt: &Value) -> u64 {
    match prompt {
        Value::String(s) => encoding.count(s),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => encoding.count(s),
                // Token ids: already tokens.
                Value::Array(ids) => ids.len() as u64,
                Value::Number(_) => 1,
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

pub fn chat_prompt_tokens(encoding: Encoding, messages: &[Value]) -> u64 {
    let mut total = REPLY_PRIMING;
    for message in messages {
        total += TOKENS_PER_MESSAGE;
        let mut text = String::new();
        if let Some(role) = message.get("role").and_then(Value::as_str) {
            total += encoding.count(role);
        }
        match message.get("content") {
            Some(Value::String(s)) => total += encoding.count(s),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(t) = part.get("text").and_then(Value::as_str) {
                        total += encoding.count(t);
                    }
                }
            }
            _ => {}
        }
        if let Some(name) = message.get("name").and_then(Value::as_str) {
            total += TOKENS_PER_NAME + encoding.count(name);
        }
        push_tool_calls(message.get("tool_calls"), &mut text);
        total += encoding.count(&text);
    }
    total
}

/// The generated text (and tool-call text) of what was relayed so far.
#[derive(Debug, Default)]
pub struct Completion {
    text: String,
    tools: String,
}

impl Completion {
    /// Adds the choices of one OpenAI chunk or completion object.
    pub fn add_object(&mut self, object: &Value) {
        let Some(choices) = object.get("choices").and_then(Value::as_array) else {
            return;
        };
        for choice in choices {
            for holder in [choice.get("delta"), choice.get("message")]
                .into_iter()
                .flatten()
            {
                if let Some(t) = holder.get("content").and_then(Value::as_str) {
                    self.text.push_str(t);
                }
                push_tool_calls(holder.get("tool_calls"), &mut self.tools);
            }
            // Legacy completions.
            if let Some(t) = choice.get("text").and_then(Value::as_str) {
                self.text.push_str(t);
            }
        }
    }

    /// Adds one SSE frame (`data: {...}\n\n`) as relayed to the client.
    pub fn add_frame(&mut self, frame: &Bytes) {
        let Ok(text) = std::str::from_utf8(frame) else {
            return;
        };
        for line in text.lines() {
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            if let Ok(object) = serde_json::from_str::<Value>(data.trim_start()) {
                self.add_object(&object);
            }
        }
    }

    pub fn tokens(&self, encoding: Encoding) -> u64 {
        encoding.count(&self.text) + encoding.count(&self.tools)
    }
}

/// Names and argument text of tool calls, concatenated in order.
fn push_tool_calls(calls: Option<&Value>, out: &mut String) {
    let Some(Value::Array(calls)) = calls else {
        return;
    };
    for call in calls {
        if let Some(function) = call.get("function") {
            for field in ["name", "arguments"] {
                if let Some(s) = function.get(field).and_then(Value::as_str) {
                    out.push_str(s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn models_map_to_their_encoding() {
        assert_eq!(Encoding::for_model("gpt-4o-mini"), Encoding::O200k);
        assert_eq!(Encoding::for_model("openai/gpt-4o"), Encoding::O200k);
        assert_eq!(Encoding::for_model("gpt-4.1-nano"), Encoding::O200k);
        assert_eq!(Encoding::for_model("gpt-4-0613"), Encoding::Cl100k);
        assert_eq!(Encoding::for_model("gpt-3.5-turbo"), Encoding::Cl100k);
        assert_eq!(Encoding::for_model("claude-3-5-sonnet"), Encoding::O200k);
        assert_eq!(Encoding::for_model("my-finetune"), Encoding::O200k);
    }

    #[test]
    fn counts_are_tiktokens() {
        // Reference values from OpenAI's tiktoken.
        assert_eq!(Encoding::Cl100k.count("hello world"), 2);
        assert_eq!(Encoding::Cl100k.count("hello world, Hé!"), 6);
        assert_eq!(Encoding::O200k.count("hello world"), 2);
        assert_eq!(Encoding::O200k.count(""), 0);
        // Special-token text is ordinary text: no panic, counted.
        assert!(Encoding::O200k.count("<|endoftext|>") > 1);
    }

    fn reference(encoding: Encoding) -> tiktoken_rs::CoreBPE {
        match encoding {
            Encoding::O200k => tiktoken_rs::o200k_base(),
            Encoding::Cl100k => tiktoken_rs::cl100k_base(),
        }
        .expect("tiktoken builds")
    }

    #[test]
    fn every_rank_holds_tiktokens_bytes() {
        for (encoding, ranks) in [(Encoding::O200k, 199_998), (Encoding::Cl100k, 100_256)] {
            let ours = encoding.bpe().expect("builds").vocabulary();
            let theirs = reference(encoding);
            assert_eq!(ours.len(), ranks);
            for rank in 0..ranks as u32 {
                let bytes = theirs.decode_bytes(&[rank]).expect("a rank of tiktoken's");
                assert_eq!(
                    ours.token(rank),
                    bytes.as_slice(),
                    "{encoding:?} rank {rank}"
                );
                assert_eq!(ours.rank(&bytes), Some(rank));
            }
        }
    }

    #[test]
    fn counts_match_tiktoken_on_real_text_and_long_pieces() {
        let long_word: String = (0..3_000)
            .map(|i| char::from(b'a' + ((i * 7 + i / 13) % 26) as u8))
            .collect();
        let texts = [
            include_str!("../../../../ARCHITECTURE.md"),
            include_str!("mod.rs"),
            "Hello, World! It's 2026; we're counting: 1234567 tokens.\r\n\n  \t x",
            "日本語のテキストと中文文本, ελληνικά, русский, עברית, 😀🚀 emojis",
            &long_word,
            &"ab".repeat(2_000),
            &" ".repeat(1_000),
            &"1".repeat(1_000),
            "<|endoftext|> <|fim_prefix|>",
        ];
        for encoding in [Encoding::O200k, Encoding::Cl100k] {
            let theirs = reference(encoding);
            for text in texts {
                let expected = theirs.encode_ordinary(text).len() as u64;
                assert_eq!(encoding.count(text), expected, "{encoding:?}: {:.60}", text);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        #[test]
        fn counts_match_tiktoken_on_any_text(
            text in "[a-zA-Z0-9 \n\r\t'.,!?/_éüßÀ中文日本😀-]{0,200}"
        ) {
            static THEIRS: LazyLock<[tiktoken_rs::CoreBPE; 2]> =
                LazyLock::new(|| [reference(Encoding::O200k), reference(Encoding::Cl100k)]);
            for (encoding, theirs) in [Encoding::O200k, Encoding::Cl100k].into_iter().zip(THEIRS.iter()) {
                proptest::prop_assert_eq!(
                    encoding.count(&text),
                    theirs.encode_ordinary(&text).len() as u64
                );
            }
        }
    }

    #[test]
    fn chat_prompt_follows_the_per_message_rule() {
        let e = Encoding::Cl100k;
        let messages = vec![
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": [{"type": "text", "text": "hello world"}, {"type": "image_url"}], "name": "bob"}),
        ];
        let expected = 3
            + (3 + e.count("system") + e.count("You are helpful."))
            + (3 + e.count("user") + e.count("hello world") + 1 + e.count("bob"));
        assert_eq!(chat_prompt_tokens(e, &messages), expected);
        let raw = serde_json::to_vec(&json!({"model": "m", "messages": messages})).expect("json");
        assert_eq!(prompt_tokens(e, PromptKind::Chat, &raw), expected);
        assert_eq!(prompt_tokens(e, PromptKind::Chat, b"not json"), 0);
        let text = br#"{"prompt": ["hello world", [1, 2, 3]]}"#;
        assert_eq!(prompt_tokens(e, PromptKind::Text, text), 2 + 3);
    }

    #[test]
    fn completion_counts_relayed_deltas_and_tool_calls() {
        let mut c = Completion::default();
        c.add_frame(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"hello\"}}]}\n\n",
        ));
        c.add_frame(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\" world\"}}]}\n\n",
        ));
        c.add_frame(&Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n"));
        c.add_frame(&Bytes::from_static(b"data: not json\n\n"));
        let e = Encoding::Cl100k;
        assert_eq!(c.tokens(e), e.count("hello world") + e.count("{}"));
    }
}
