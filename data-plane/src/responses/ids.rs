//! Response ids that carry what a data plane needs to serve them again,
//! so no replica keeps state and none reads a database:
//!
//! - a **bridged** response's id carries its conversation — every input
//!   item so far and the response itself — deflated;
//! - a **native** response's id carries the deployment that produced it and
//!   the provider's own id (GET, DELETE and `previous_response_id` go back
//!   to that deployment).
//!
//! Both are sealed with AES-256-GCM under a key derived (HMAC-SHA256) from
//! the caller's own API key, which no data plane or database stores: only
//! the key that created a response can read, continue, fetch or delete it,
//! and nobody can forge one. Format: `resp_` + base64url(kind ‖ nonce ‖
//! ciphertext ‖ tag), the kind byte authenticated as associated data.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::io::Read as _;

const PREFIX: &str = "resp_";
const KIND_BRIDGED: u8 = 1;
const KIND_NATIVE: u8 = 2;
/// What the key derivation is for, so the same API key yields unrelated
/// keys elsewhere.
const LABEL: &[u8] = b"tollgate responses id v1";
/// A deflated state is refused past this when opened: ids are the
/// client's input, and decompression must not balloon memory.
const MAX_STATE_BYTES: u64 = 32 * 1024 * 1024;

/// What an id holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A bridged response: `{"input": [...], "response": {...}}`.
    Bridged(Value),
    /// A native response: the deployment and the provider's id.
    Native {
        deployment: String,
        upstream: String,
    },
}

/// Seals and opens ids for one caller.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// The sealer of the caller presenting `api_key`.
    pub fn for_key(api_key: &str) -> Sealer {
        let mac = hmac::Key::new(hmac::HMAC_SHA256, api_key.as_bytes());
        let derived = hmac::sign(&mac, LABEL);
        // A 32-byte HMAC-SHA256 tag is exactly an AES-256 key.
        let key = UnboundKey::new(&AES_256_GCM, derived.as_ref())
            .expect("an HMAC-SHA256 tag is a valid AES-256 key");
        Sealer {
            key: LessSafeKey::new(key),
        }
    }

    pub fn seal_bridged(&self, state: &Value) -> Option<String> {
        let mut deflater =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut deflater, state).ok()?;
        let deflated = deflater.finish().ok()?;
        self.seal(KIND_BRIDGED, deflated)
    }

    pub fn seal_native(&self, deployment: &str, upstream: &str) -> Option<String> {
        let payload = serde_json::to_vec(&json!({"d": deployment, "id": upstream})).ok()?;
        self.seal(KIND_NATIVE, payload)
    }

    /// The id's content, or `None` when it is not one of this caller's.
    pub fn open(&self, id: &str) -> Option<Opened> {
        let raw = URL_SAFE_NO_PAD.decode(id.strip_prefix(PREFIX)?).ok()?;
        let (&kind, rest) = raw.split_first()?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from([kind]), &mut sealed)
            .ok()?;
        match kind {
            KIND_BRIDGED => {
                let mut json = Vec::new();
                flate2::read::DeflateDecoder::new(&plain[..])
                    .take(MAX_STATE_BYTES)
                    .read_to_end(&mut json)
                    .ok()?;
                serde_json::from_slice(&json).ok().map(Opened::Bridged)
            }
            KIND_NATIVE => {
                let v: Value = serde_json::from_slice(plain).ok()?;
                Some(Opened::Native {
                    deployment: v.get("d")?.as_str()?.to_string(),
                    upstream: v.get("id")?.as_str()?.to_string(),
                })
            }
            _ => None,
        }
    }

    fn seal(&self, kind: u8, mut payload: Vec<u8>) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([kind]),
                &mut payload,
            )
            .ok()?;
        let mut raw = Vec::with_capacity(1 + NONCE_LEN + payload.len());
        raw.push(kind);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&payload);
        let mut id = String::from(PREFIX);
        id.push_str(&URL_SAFE_NO_PAD.encode(raw));
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_for_their_key_only() {
        let mine = Sealer::for_key("sk-mine");
        let state =
            json!({"input": [{"role": "user", "content": "hi"}], "response": {"output": []}});
        let id = mine.seal_bridged(&state).expect("sealed");
        assert!(id.starts_with("resp_"));
        assert_eq!(mine.open(&id), Some(Opened::Bridged(state)));
        let native = mine.seal_native("dep-1", "resp_abc").expect("sealed");
        assert_eq!(
            mine.open(&native),
            Some(Opened::Native {
                deployment: "dep-1".into(),
                upstream: "resp_abc".into()
            })
        );
        let theirs = Sealer::for_key("sk-theirs");
        assert_eq!(theirs.open(&id), None);
        assert_eq!(theirs.open(&native), None);
    }

    #[test]
    fn tampered_or_foreign_ids_open_to_nothing() {
        let s = Sealer::for_key("k");
        let id = s.seal_native("d", "u").expect("sealed");
        let mut bytes = id.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(s.open(&tampered), None);
        for junk in [
            "",
            "resp_",
            "resp_!!",
            "resp_AAAA",
            "chatcmpl-1",
            "resp_abc123",
        ] {
            assert_eq!(s.open(junk), None, "{junk}");
        }
    }
}
