//! The snapshot's content identity, computable one change at a time.
//!
//! A snapshot is its config part plus a directory of entries (keys, teams,
//! users, end users). Hashing the whole payload would make every key change
//! cost a pass over 100,000 keys on both planes; instead the directory's
//! digest is the sum, modulo 2^256, of each entry's SHA-256 (an additive
//! multiset hash). Adding an entry adds its digest, removing it subtracts
//! it, so both planes update the identity in O(changed entries) and still
//! prove they hold the same content.

use sha2::{Digest as _, Sha256};

/// What an entry of the directory is; also its tag on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Key,
    Team,
    User,
    Customer,
}

impl EntryKind {
    pub const ALL: [EntryKind; 4] = [
        EntryKind::Key,
        EntryKind::Team,
        EntryKind::User,
        EntryKind::Customer,
    ];

    pub fn tag(self) -> u8 {
        match self {
            EntryKind::Key => b'K',
            EntryKind::Team => b'T',
            EntryKind::User => b'U',
            EntryKind::Customer => b'E',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Key => "key",
            EntryKind::Team => "team",
            EntryKind::User => "user",
            EntryKind::Customer => "customer",
        }
    }
}

/// SHA-256 of one entry (its kind and its encoded bytes).
pub fn entry_digest(kind: EntryKind, bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([kind.tag()]);
    h.update(bytes);
    h.finalize().into()
}

/// SHA-256 of the config part's bytes.
pub fn config_digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The sum of the directory's entry digests, a 256-bit little-endian
/// integer modulo 2^256.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryDigest([u64; 4]);

impl DirectoryDigest {
    pub fn add(&mut self, entry: &[u8; 32]) {
        let mut carry = false;
        for (limb, other) in self.0.iter_mut().zip(limbs(entry)) {
            let (sum, c1) = limb.overflowing_add(other);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 || c2;
        }
    }

    pub fn remove(&mut self, entry: &[u8; 32]) {
        let mut borrow = false;
        for (limb, other) in self.0.iter_mut().zip(limbs(entry)) {
            let (diff, b1) = limb.overflowing_sub(other);
            let (diff, b2) = diff.overflowing_sub(u64::from(borrow));
            *limb = diff;
            borrow = b1 || b2;
        }
    }

    fn bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }
}

fn limbs(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(le);
    }
    out
}

/// The content hash both planes announce and compare: lower-case hex.
pub fn content_hash(config: &[u8; 32], directory: &DirectoryDigest) -> String {
    let mut h = Sha256::new();
    h.update(b"tollgate-snapshot-v2\n");
    h.update(config);
    h.update(directory.bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_does_not_matter_and_removal_undoes(entries in proptest::collection::vec(any::<[u8; 32]>(), 0..20), extra in any::<[u8; 32]>()) {
            let mut forward = DirectoryDigest::default();
            entries.iter().for_each(|e| forward.add(e));
            let mut backward = DirectoryDigest::default();
            entries.iter().rev().for_each(|e| backward.add(e));
            prop_assert_eq!(forward, backward);
            let before = forward;
            forward.add(&extra);
            prop_assert_ne!(forward, before);
            forward.remove(&extra);
            prop_assert_eq!(forward, before);
        }
    }

    #[test]
    fn carries_across_limbs() {
        let mut d = DirectoryDigest::default();
        let mut max = [0u8; 32];
        max[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut one = [0u8; 32];
        one[0] = 1;
        d.add(&max);
        d.add(&one);
        assert_eq!(d.0, [0, 1, 0, 0]);
        d.remove(&one);
        d.remove(&max);
        assert_eq!(d, DirectoryDigest::default());
    }
}
