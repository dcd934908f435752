//! Encoded entries with their digests: the state both planes keep so a
//! change to one key costs one entry, and a full payload is a concatenation.

use super::digest::{DirectoryDigest, EntryKind, config_digest, content_hash, entry_digest};
use super::wire::{self, Writer};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

/// One entry as it travels: its JSON bytes and their digest.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub bytes: Bytes,
    pub digest: [u8; 32],
}

impl StoredEntry {
    pub fn new(kind: EntryKind, bytes: Bytes) -> Self {
        let digest = entry_digest(kind, &bytes);
        Self { bytes, digest }
    }
}

/// An entry's identity: its kind and id (a key's token hex, a team's,
/// user's or end user's id).
pub type EntryId = (EntryKind, String);

/// A change to the directory: entries to put (replacing any with the same
/// id) and ids to remove.
#[derive(Debug, Clone, Default)]
pub struct DirectoryChange {
    pub upserts: Vec<(EntryId, StoredEntry)>,
    pub removals: Vec<EntryId>,
}

impl DirectoryChange {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.removals.is_empty()
    }

    /// The delta payload (no config frame).
    pub fn encode(&self) -> Vec<u8> {
        let size = self
            .upserts
            .iter()
            .map(|(_, e)| wire::frame_len(e.bytes.len()))
            .chain(
                self.removals
                    .iter()
                    .map(|(_, id)| wire::frame_len(id.len())),
            )
            .sum();
        let mut w = Writer::with_capacity(size);
        for ((kind, _), entry) in &self.upserts {
            w.upsert(*kind, &entry.bytes);
        }
        for (kind, id) in &self.removals {
            w.remove(*kind, id);
        }
        w.finish()
    }
}

/// The config part and every directory entry, encoded, with the running
/// directory digest.
#[derive(Debug, Clone)]
pub struct EntryStore {
    config: Bytes,
    config_digest: [u8; 32],
    entries: BTreeMap<EntryId, StoredEntry>,
    directory: DirectoryDigest,
}

impl EntryStore {
    pub fn new(config: Bytes) -> Self {
        Self {
            config_digest: config_digest(&config),
            config,
            entries: BTreeMap::new(),
            directory: DirectoryDigest::default(),
        }
    }

    pub fn content_hash(&self) -> String {
        content_hash(&self.config_digest, &self.directory)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &EntryId) -> Option<&StoredEntry> {
        self.entries.get(id)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&EntryId, &StoredEntry)> {
        self.entries.iter()
    }

    /// Puts an entry; returns whether anything changed.
    pub fn upsert(&mut self, id: EntryId, entry: StoredEntry) -> bool {
        if self
            .entries
            .get(&id)
            .is_some_and(|old| old.digest == entry.digest)
        {
            return false;
        }
        self.directory.add(&entry.digest);
        if let Some(old) = self.entries.insert(id, entry) {
            self.directory.remove(&old.digest);
        }
        true
    }

    /// Removes an entry; returns whether it was there.
    pub fn remove(&mut self, id: &EntryId) -> bool {
        match self.entries.remove(id) {
            Some(old) => {
                self.directory.remove(&old.digest);
                true
            }
            None => false,
        }
    }

    /// The content hash this store would have after `change`, without
    /// applying it: a data plane checks a delta before touching anything.
    pub fn hash_after(&self, change: &DirectoryChange) -> String {
        let mut directory = self.directory;
        // What each id holds so far in the change: later operations on the
        // same id see earlier ones, as in `apply`.
        let mut overlay: HashMap<&EntryId, Option<[u8; 32]>> = HashMap::new();
        let old = |overlay: &HashMap<&EntryId, Option<[u8; 32]>>, id: &EntryId| {
            overlay
                .get(id)
                .copied()
                .unwrap_or_else(|| self.entries.get(id).map(|e| e.digest))
        };
        for (id, entry) in &change.upserts {
            if let Some(previous) = old(&overlay, id) {
                directory.remove(&previous);
            }
            directory.add(&entry.digest);
            overlay.insert(id, Some(entry.digest));
        }
        for id in &change.removals {
            if let Some(previous) = old(&overlay, id) {
                directory.remove(&previous);
            }
            overlay.insert(id, None);
        }
        content_hash(&self.config_digest, &directory)
    }

    pub fn apply(&mut self, change: &DirectoryChange) {
        for (id, entry) in &change.upserts {
            self.upsert(id.clone(), entry.clone());
        }
        for id in &change.removals {
            self.remove(id);
        }
    }

    /// The full payload: the config frame, then every entry.
    pub fn full_payload(&self) -> Vec<u8> {
        let size = wire::frame_len(self.config.len())
            + self
                .entries
                .values()
                .map(|e| wire::frame_len(e.bytes.len()))
                .sum::<usize>();
        let mut w = Writer::with_capacity(size);
        w.config(&self.config);
        for ((kind, _), entry) in &self.entries {
            w.upsert(*kind, &entry.bytes);
        }
        w.finish()
    }

    pub fn config(&self) -> &Bytes {
        &self.config
    }
}
