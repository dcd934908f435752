//! The live state: the runtime built from the last applied snapshot, swapped
//! atomically. Request handlers load it once per request (a lock-free
//! pointer read) and keep that `Arc` for the whole request, so a snapshot
//! applied mid-request never changes what the request sees.

use crate::runtime::Runtime;
use arc_swap::ArcSwapOption;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
}

impl LiveState {
    pub fn new(node_id: String) -> Self {
        Self {
            node_id,
            runtime: ArcSwapOption::empty(),
            applied: ArcSwapOption::empty(),
            control_plane_connected: AtomicBool::new(false),
        }
    }

    pub fn runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime.load_full()
    }

    pub fn applied(&self) -> Option<Arc<Applied>> {
        self.applied.load_full()
    }

    pub fn install(&self, runtime: Runtime, applied: Applied) {
        // Runtime first: readiness reports `applied` only once requests can
        // already be served from it.
        self.runtime.store(Some(Arc::new(runtime)));
        self.applied.store(Some(Arc::new(applied)));
    }

    pub fn set_control_plane_connected(&self, connected: bool) {
        self.control_plane_connected
            .store(connected, Ordering::Relaxed);
    }

    pub fn control_plane_connected(&self) -> bool {
        self.control_plane_connected.load(Ordering::Relaxed)
    }
}
