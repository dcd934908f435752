//! Snapshot decoding takes bytes off the network (and off disk): nothing
//! it is given may panic it, a changed byte never passes (framing, entry
//! parsing or the content hash refuses it),
//! and a payload that hashes right but is not a snapshot is an error.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use tollgate_shared::config::load;
use tollgate_shared::snapshot::{Snapshot, SnapshotError};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn valid() -> Result<(Vec<u8>, String), TestCaseError> {
    let text = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: sk-x}\ngeneral_settings: {master_key: sk-1234}\n";
    let loaded = load(text, &BTreeMap::new()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let encoded = Snapshot::from_config(&loaded)
        .encode()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok((encoded.payload, encoded.content_hash))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_with_their_own_hash_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let hash = sha256_hex(&bytes);
        let _ = Snapshot::decode(&bytes, &hash);
    }

    #[test]
    fn arbitrary_bytes_with_any_hash_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128), hash in "\\PC{0,70}") {
        let _ = Snapshot::decode(&bytes, &hash);
    }

    #[test]
    fn a_changed_byte_never_passes_the_hash(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (mut payload, hash) = valid()?;
        let i = index.index(payload.len());
        payload[i] ^= flip;
        // Refused one way or another — by the framing, by an entry that no
        // longer parses, or by the content hash — but never accepted.
        let decoded = Snapshot::decode(&payload, &hash);
        prop_assert!(
            matches!(
                decoded,
                Err(SnapshotError::HashMismatch { .. }
                    | SnapshotError::Wire(_)
                    | SnapshotError::Decode(_)
                    | SnapshotError::Malformed(_))
            ),
            "{decoded:?}"
        );
    }

    #[test]
    fn a_mangled_payload_with_a_matching_hash_is_an_error_or_a_snapshot(
        index in any::<prop::sample::Index>(),
        cut in any::<bool>(),
        byte in any::<u8>(),
    ) {
        let (mut payload, _) = valid()?;
        let i = index.index(payload.len());
        if cut {
            payload.truncate(i);
        } else {
            payload[i] = byte;
        }
        let hash = sha256_hex(&payload);
        // Either outcome is fine; a panic is not.
        let _ = Snapshot::decode(&payload, &hash);
    }
}
