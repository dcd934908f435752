//! The master key the control plane enforces on its own APIs.

use tollgate_shared::keys::KeyHash;

/// Compares a presented bearer token with the current master key hash.
pub fn verify(presented: Option<&str>, expected: Option<&KeyHash>) -> bool {
    match (presented, expected) {
        (Some(p), Some(e)) => KeyHash::of(p) == *e,
        _ => false,
    }
}

/// `Authorization: Bearer X` → `X`.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `sk-` + 32 hex characters from the OS RNG, used when the config has none.
pub fn generate() -> String {
    let bytes: [u8; 16] = rand::random();
    format!("sk-{}", hex::encode(bytes))
}
