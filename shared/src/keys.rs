//! Key hashing. LiteLLM stores virtual keys as the SHA-256 hex of the raw
//! `sk-…` string; Tollgate does the same so the two agree on every key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// SHA-256 of a key. Comparing hashes, not keys, is what lets data planes
/// authenticate without ever holding a plaintext key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        Self(out)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The hash's first byte: evenly spread, for sharding by key.
    pub fn first_byte(&self) -> u8 {
        self.0[0]
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({})", &self.to_hex()[..12])
    }
}

impl Serialize for KeyHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyHash::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex characters"))
    }
}

/// Lower-case hex SHA-256 of arbitrary bytes (snapshot content hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sk-...abcd`: how LiteLLM shows a key in messages without revealing it.
pub fn abbreviate(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if key.chars().count() <= 8 {
        "sk-...".to_string()
    } else {
        format!("sk-...{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_litellm_sha256_hex() {
        // printf 'sk-1234' | sha256sum
        let h = KeyHash::of("sk-1234");
        assert_eq!(
            h.to_hex(),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
        assert_eq!(KeyHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(KeyHash::from_hex("zz"), None);
    }

    #[test]
    fn abbreviation_hides_all_but_the_tail() {
        assert_eq!(abbreviate("sk-abcdefghijkl"), "sk-...ijkl");
        assert_eq!(abbreviate("short"), "sk-...");
    }
}
