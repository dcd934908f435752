//! The answer's `model` set to the model group the client asked for, as
//! LiteLLM's proxy answers: a client that sent `model: "my-gpt"` reads
//! `my-gpt` back whichever deployment served it (the deployment itself is
//! in `x-litellm-model-id`). Translated providers build their answers with
//! the group already; OpenAI-format answers are relayed as the provider
//! sent them, so the one field is patched in the bytes instead of
//! re-serialising the body.

/// `json` with its top-level `"model"` string replaced by `model`; `None`
/// when it has no such field (the body then goes on unchanged).
pub fn replace_model(json: &[u8], model: &str) -> Option<Vec<u8>> {
    let (start, end) = top_level_string(json, b"model")?;
    if &json[start + 1..end - 1] == model.as_bytes() {
        return None;
    }
    let mut out = Vec::with_capacity(json.len() + model.len());
    out.extend_from_slice(&json[..start]);
    // A `&str` always serialises.
    serde_json::to_writer(&mut out, model).ok()?;
    out.extend_from_slice(&json[end..]);
    Some(out)
}

/// The byte range (quotes included) of the string value of `key` in the
/// top-level object, scanning only as far as that key.
fn top_level_string(json: &[u8], key: &[u8]) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.checked_sub(1)?,
            b'"' => {
                let end = string_end(json, i)?;
                if depth == 1 && &json[i + 1..end - 1] == key {
                    let colon = skip_whitespace(json, end);
                    if json.get(colon) == Some(&b':') {
                        let value = skip_whitespace(json, colon + 1);
                        return (json.get(value) == Some(&b'"'))
                            .then(|| string_end(json, value).map(|e| (value, e)))
                            .flatten();
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the closing quote of the string opening at `start`.
fn string_end(json: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn skip_whitespace(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn replaced(body: &Value, model: &str) -> Value {
        let bytes = serde_json::to_vec(body).expect("encode");
        let out = replace_model(&bytes, model).expect("replaced");
        serde_json::from_slice(&out).expect("still JSON")
    }

    #[test]
    fn only_the_top_level_model_changes() {
        let body = json!({
            "id": "x", "object": "chat.completion",
            "choices": [{"message": {"content": "{\"model\": \"inner\"}", "model": "nested"}}],
            "model": "gpt-4o-mini-2024-07-18",
        });
        let got = replaced(&body, "my-gpt");
        assert_eq!(got["model"], "my-gpt");
        assert_eq!(got["choices"][0]["message"]["model"], "nested");
        assert_eq!(
            got["choices"][0]["message"]["content"],
            "{\"model\": \"inner\"}"
        );
    }

    #[test]
    fn a_value_that_reads_model_is_not_the_key() {
        let body = json!({"object": "model", "data": [], "model": "m"});
        assert_eq!(replaced(&body, "group")["object"], "model");
        assert_eq!(replaced(&body, "group")["model"], "group");
    }

    #[test]
    fn names_are_escaped_and_spacing_kept() {
        let out = replace_model(br#"{ "model" :  "a" , "x":1}"#, "we\"ird").expect("replaced");
        assert_eq!(out, br#"{ "model" :  "we\"ird" , "x":1}"#);
    }

    #[test]
    fn nothing_to_replace_is_none() {
        assert!(replace_model(br#"{"choices":[]}"#, "g").is_none());
        assert!(replace_model(br#"{"model":null}"#, "g").is_none());
        assert!(replace_model(br#"{"model":"g"}"#, "g").is_none());
        assert!(replace_model(b"not json", "g").is_none());
        assert!(replace_model(br#"{"model":"unterminated"#, "g").is_none());
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_json_valid(bytes in proptest::collection::vec(any::<u8>(), 0..200), model in ".{0,20}") {
            let _ = replace_model(&bytes, &model);
        }

        #[test]
        fn any_object_stays_the_same_but_for_model(text in ".{0,40}", nested in ".{0,10}", model in ".{0,20}") {
            let body = json!({"a": {"model": nested}, "content": text, "model": "upstream"});
            let bytes = serde_json::to_vec(&body).expect("encode");
            let out = replace_model(&bytes, &model).map_or(bytes, |o| o);
            let got: Value = serde_json::from_slice(&out).expect("JSON");
            prop_assert_eq!(&got["model"], &json!(model));
            prop_assert_eq!(&got["a"], &body["a"]);
            prop_assert_eq!(&got["content"], &body["content"]);
        }
    }
}
