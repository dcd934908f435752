//! Deterministic reply text, token arithmetic and embedding vectors.
//!
//! Every provider module shares these rules so that a test can compute the exact
//! text and usage numbers it expects from the request it sent, whatever the wire
//! format.

use axum::http::HeaderMap;

/// Header whose value replaces the echoed reply, so tests can choose the text.
pub const RESPONSE_OVERRIDE_HEADER: &str = "x-mock-response";

/// The reply text forced by the `x-mock-response` header, if any.
///
/// Decoded lossily rather than rejected: header values may carry raw UTF-8, and a
/// test that sends a non-ASCII reply expects to get it back.
pub fn override_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get(RESPONSE_OVERRIDE_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The default reply: the user's text echoed back, so a test can tell which
/// request produced which response.
pub fn echo(text: &str) -> String {
    let mut reply = String::with_capacity(6 + text.len());
    reply.push_str("Echo: ");
    reply.push_str(text);
    reply
}

/// Whitespace-separated words: the mock's stand-in for a tokenizer.
pub fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Completion tokens of a reply. Never zero, because real providers always bill
/// at least the end-of-text token and gateways may divide by it.
pub fn completion_tokens(reply: &str) -> u64 {
    word_count(reply).max(1)
}

/// Splits a reply into stream deltas: one per word, every word after the first
/// carrying the whitespace before it, so that concatenating the deltas yields the
/// reply byte for byte (leading and trailing whitespace included).
pub fn stream_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    // Start of the whitespace run that follows the latest word, if any.
    let mut gap_start: Option<usize> = None;
    let mut in_word = false;
    for (index, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if in_word {
                gap_start = Some(index);
            }
            in_word = false;
        } else {
            if !in_word && let Some(split) = gap_start.take() {
                pieces.push(&text[piece_start..split]);
                piece_start = split;
            }
            in_word = true;
        }
    }
    if piece_start < text.len() {
        pieces.push(&text[piece_start..]);
    }
    pieces
}

/// A unit-length vector of `dimensions` components derived only from `key`, so the
/// same input always embeds the same way and different inputs almost surely differ.
pub fn embedding_vector(key: &[u8], dimensions: usize) -> Vec<f32> {
    let seed = fnv1a(key);
    let mut vector: Vec<f32> = (0..dimensions as u64)
        .map(|i| {
            // The top 24 bits fit an f32 mantissa exactly, giving a uniform value in [-1, 1).
            let bits = splitmix64(seed.wrapping_add(i)) >> 40;
            (bits as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    }
    vector
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whitespace_separated_words() {
        assert_eq!(word_count(""), 0);
        assert_eq!(word_count("   "), 0);
        assert_eq!(word_count("hello"), 1);
        assert_eq!(word_count("  hello \n\t world  "), 2);
    }

    #[test]
    fn completion_tokens_are_at_least_one() {
        assert_eq!(completion_tokens(""), 1);
        assert_eq!(completion_tokens("Echo: "), 1);
        assert_eq!(completion_tokens("Echo: hi there"), 3);
    }

    #[test]
    fn echo_prefixes_text() {
        assert_eq!(echo("hi"), "Echo: hi");
        assert_eq!(echo(""), "Echo: ");
    }

    #[test]
    fn override_header_wins_and_keeps_utf8() {
        let mut headers = HeaderMap::new();
        assert_eq!(override_from(&headers), None);
        headers.insert(
            RESPONSE_OVERRIDE_HEADER,
            axum::http::HeaderValue::from_bytes("héllo wörld".as_bytes()).expect("valid header"),
        );
        assert_eq!(override_from(&headers).as_deref(), Some("héllo wörld"));
    }

    #[test]
    fn stream_pieces_attach_leading_whitespace() {
        assert_eq!(
            stream_pieces("Echo: hello world"),
            ["Echo:", " hello", " world"]
        );
        assert!(stream_pieces("").is_empty());
        assert_eq!(stream_pieces("one"), ["one"]);
    }

    #[test]
    fn stream_pieces_reconstruct_any_text() {
        for text in [
            "",
            " ",
            "Echo: ",
            "  leading",
            "trailing  ",
            "a\n\nb\tc  d",
            "  ünï cödé  spaces\u{3000}ideographic ",
        ] {
            let pieces = stream_pieces(text);
            assert_eq!(pieces.concat(), text, "pieces of {text:?}");
            assert!(pieces.len() as u64 <= word_count(text).max(1));
        }
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embedding_vector(b"hello", 8);
        assert_eq!(a.len(), 8);
        assert_eq!(a, embedding_vector(b"hello", 8));
        assert_ne!(a, embedding_vector(b"hellp", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        assert!(embedding_vector(b"x", 0).is_empty());
    }
}
