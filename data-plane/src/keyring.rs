//! Virtual keys by hash, split into 256 shards by the hash's first byte.
//!
//! A management write changes a key or two; the runtime it produces must
//! not copy all 100,000. Each shard sits behind its own `Arc`, so a delta
//! copies the shards it touches (a few hundred entries each) and shares the
//! rest with the runtime before it. A lookup is one index and one
//! `HashMap` read, as before.

use std::collections::HashMap;
use std::sync::Arc;
use tollgate_shared::keys::KeyHash;
use tollgate_shared::snapshot::VirtualKey;

type Shard = HashMap<KeyHash, Arc<VirtualKey>>;

#[derive(Clone)]
pub struct Keyring {
    shards: Vec<Arc<Shard>>,
}

fn shard_of(hash: &KeyHash) -> usize {
    usize::from(hash.first_byte())
}

impl Keyring {
    pub fn new(keys: impl IntoIterator<Item = VirtualKey>) -> Self {
        let mut shards: Vec<Shard> = (0..256).map(|_| HashMap::new()).collect();
        for key in keys {
            if let Some(shard) = shards.get_mut(shard_of(&key.token)) {
                shard.insert(key.token, Arc::new(key));
            }
        }
        Self {
            shards: shards.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn get(&self, hash: &KeyHash) -> Option<&Arc<VirtualKey>> {
        self.shards.get(shard_of(hash))?.get(hash)
    }

    pub fn insert(&mut self, key: VirtualKey) {
        if let Some(shard) = self.shards.get_mut(shard_of(&key.token)) {
            // Copies this shard only if the previous runtime still shares it.
            Arc::make_mut(shard).insert(key.token, Arc::new(key));
        }
    }

    pub fn remove(&mut self, hash: &KeyHash) {
        if let Some(shard) = self.shards.get_mut(shard_of(hash))
            && shard.contains_key(hash)
        {
            Arc::make_mut(shard).remove(hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(plaintext: &str) -> VirtualKey {
        VirtualKey::unrestricted(KeyHash::of(plaintext))
    }

    #[test]
    fn a_change_leaves_the_previous_ring_as_it_was() {
        let before = Keyring::new((0..1000).map(|i| key(&format!("sk-{i}"))));
        let mut after = before.clone();
        after.remove(&KeyHash::of("sk-1"));
        after.insert(key("sk-new"));
        let mut blocked = key("sk-2");
        blocked.blocked = true;
        after.insert(blocked);
        assert!(before.get(&KeyHash::of("sk-1")).is_some());
        assert!(after.get(&KeyHash::of("sk-1")).is_none());
        assert!(after.get(&KeyHash::of("sk-new")).is_some());
        assert!(!before.get(&KeyHash::of("sk-2")).is_some_and(|k| k.blocked));
        assert!(after.get(&KeyHash::of("sk-2")).is_some_and(|k| k.blocked));
        // Untouched shards are shared, not copied.
        let shared = before
            .shards
            .iter()
            .zip(&after.shards)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(shared >= 253, "{shared} of 256 shards shared");
    }
}
