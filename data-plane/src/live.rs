//! The live state: the runtime built from the last applied snapshot, swapped
//! atomically. Request handlers load it once per request (a lock-free
//! pointer read) and keep that `Arc` for the whole request, so a snapshot
//! applied mid-request never changes what the request sees.

use crate::runtime::Runtime;
use arc_swap::ArcSwapOption;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tollgate_shared::snapshot::EntryStore;

/// A delta arrived before any snapshot was served.
#[derive(Debug, thiserror::Error)]
#[error("no snapshot is served yet, so a delta has nothing to apply over")]
pub struct NothingServed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSource {
    ControlPlane,
    Disk,
}

/// What is being served, for readiness and heartbeats.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub version: u64,
    pub content_hash: String,
    pub source: SnapshotSource,
}

pub struct LiveState {
    pub node_id: String,
    runtime: ArcSwapOption<Runtime>,
    applied: ArcSwapOption<Applied>,
    control_plane_connected: AtomicBool,
    /// Shutting down: readiness answers 503 so load balancers stop sending
    /// new requests while the ones in flight finish.
    draining: AtomicBool,
    /// When the served snapshot was swapped in (for `tollgate_snapshot_age_seconds`).
    applied_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// The served snapshot as entries: the base deltas apply over, and what
    /// a compaction writes to disk. Only the sync task touches it, never a
    /// request.
    store: Mutex<Option<EntryStore>>,
}

impl LiveState {
    pub fn new(node_id: String) -> Self {
        Self {
            node_id,
            runtime: ArcSwapOption::empty(),
            applied: ArcSwapOption::empty(),
            control_plane_connected: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            applied_at: std::sync::Mutex::new(None),
            store: Mutex::new(None),
        }
    }

    pub fn runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime.load_full()
    }

    /// How long the served snapshot has been served.
    pub fn applied_age(&self) -> Option<std::time::Duration> {
        self.applied_at
            .lock()
            .ok()
            .and_then(|at| *at)
            .map(|at| at.elapsed())
    }

    pub fn applied(&self) -> Option<Arc<Applied>> {
        self.applied.load_full()
    }

    pub fn install(&self, runtime: Runtime, store: EntryStore, applied: Applied) {
        let mut current = self.lock_store();
        *current = Some(store);
        self.swap(runtime, applied);
    }

    fn swap(&self, runtime: Runtime, applied: Applied) {
        // Runtime first: readiness reports `applied` only once requests can
        // already be served from it.
        self.runtime.store(Some(Arc::new(runtime)));
        self.applied.store(Some(Arc::new(applied)));
        if let Ok(mut at) = self.applied_at.lock() {
            *at = Some(std::time::Instant::now());
        }
    }

    /// Builds the next runtime from the served one and its store (which
    /// `f` updates only when it succeeds), then swaps it in.
    pub fn update_directory<E>(
        &self,
        f: impl FnOnce(&Runtime, &mut EntryStore) -> Result<(Runtime, Applied), E>,
    ) -> Result<(), E>
    where
        E: From<NothingServed>,
    {
        let mut store = self.lock_store();
        let (Some(runtime), Some(store)) = (self.runtime(), store.as_mut()) else {
            return Err(NothingServed.into());
        };
        let (next, applied) = f(&runtime, store)?;
        self.swap(next, applied);
        Ok(())
    }

    /// What is served, as a full payload to save, with its version and
    /// hash; `None` before the first snapshot.
    pub fn saveable(&self) -> Option<(u64, String, Vec<u8>)> {
        let store = self.lock_store();
        let applied = self.applied()?;
        let store = store.as_ref()?;
        Some((
            applied.version,
            applied.content_hash.clone(),
            store.full_payload(),
        ))
    }

    fn lock_store(&self) -> std::sync::MutexGuard<'_, Option<EntryStore>> {
        // A poisoned lock means a panic mid-apply; the store was only
        // changed after the new runtime was built, so it is still whole.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_control_plane_connected(&self, connected: bool) {
        self.control_plane_connected
            .store(connected, Ordering::Relaxed);
    }

    pub fn control_plane_connected(&self) -> bool {
        self.control_plane_connected.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
