//! Which data planes exist and what each one serves.
//!
//! The in-memory map is authoritative while the process runs (status reads
//! never touch the database); every change is written through to the
//! `data_planes` table for dashboards and for the next start.

use crate::db::{DataPlaneRow, DataPlanes};
use crate::propagation::{self, Tracker};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;

/// Identifies one stream, so a stale stream of a reconnected node cannot
/// mark the node disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionId(u64);

struct Entry {
    row: DataPlaneRow,
    connection: Option<ConnectionId>,
}

pub struct Registry {
    entries: Mutex<HashMap<String, Entry>>,
    next_connection: AtomicU64,
    db: DataPlanes,
    /// Bumped on every change of what a node serves or whether it is
    /// connected: what `wait_applied` waits on.
    changes: watch::Sender<u64>,
    /// Published versions on their way to the fleet, settled on every
    /// change before `changes` wakes anyone (`propagation.rs`).
    propagations: Mutex<Tracker>,
}

/// How many connected data planes serve a version (management writes
/// answer with it: `x-tollgate-applied: 2/3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetApplied {
    pub applied: usize,
    pub connected: usize,
    /// Connected nodes that did not apply it in time (or rejected it).
    pub laggards: Vec<String>,
}

/// Where one connected data plane is with a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// It serves the version or a later one.
    Applied,
    /// It rejected (NACKed) the version or a later one.
    Rejected,
    /// Neither yet.
    Pending,
}

impl FleetApplied {
    pub fn header_value(&self) -> String {
        format!("{}/{}", self.applied, self.connected)
    }
}

impl Registry {
    pub async fn load(db: DataPlanes) -> Result<Self, sea_orm::DbErr> {
        db.mark_all_disconnected().await?;
        let entries = db
            .all()
            .await?
            .into_iter()
            .map(|mut row| {
                row.connected = false;
                (
                    row.node_id.clone(),
                    Entry {
                        row,
                        connection: None,
                    },
                )
            })
            .collect();
        Ok(Self {
            entries: Mutex::new(entries),
            next_connection: AtomicU64::new(1),
            db,
            changes: watch::Sender::new(0),
            propagations: Mutex::default(),
        })
    }

    /// Where each connected node is with `version`, sorted by node id.
    pub fn progress(&self, version: u64) -> Vec<(String, Progress)> {
        let entries = self.lock();
        let at = |v: Option<i64>| v.is_some_and(|v| v.unsigned_abs() >= version);
        let mut nodes: Vec<_> = entries
            .values()
            .filter(|e| e.connection.is_some())
            .map(|e| {
                let state = if at(e.row.applied_version) {
                    Progress::Applied
                } else if at(e.row.last_nack_version) {
                    // It rejected this version (or a later one): it will
                    // not apply it, so waiting for it is pointless.
                    Progress::Rejected
                } else {
                    Progress::Pending
                };
                (e.row.node_id.clone(), state)
            })
            .collect();
        nodes.sort();
        nodes
    }

    /// Where the fleet is with `version`: connected nodes that serve it or
    /// a later one, and those that do not; settled once none is pending.
    pub fn applied(&self, version: u64) -> (FleetApplied, bool) {
        let mut fleet = FleetApplied {
            applied: 0,
            connected: 0,
            laggards: Vec::new(),
        };
        let mut settled = true;
        for (node_id, state) in self.progress(version) {
            fleet.connected += 1;
            match state {
                Progress::Applied => fleet.applied += 1,
                Progress::Rejected => fleet.laggards.push(node_id),
                Progress::Pending => {
                    fleet.laggards.push(node_id);
                    settled = false;
                }
            }
        }
        (fleet, settled)
    }

    /// Waits until every connected data plane serves `version` (or a later
    /// one), rejected it, or disconnected — at most `limit`.
    pub async fn wait_applied(&self, version: u64, limit: Duration) -> FleetApplied {
        let mut changes = self.changes.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            changes.borrow_and_update();
            let (fleet, settled) = self.applied(version);
            if settled {
                return fleet;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return self.applied(version).0,
            }
        }
    }

    fn changed(&self) {
        // Propagations first: whoever the change wakes (a management write
        // answering "applied") finds them already counted.
        self.lock_propagations().update(|v| self.progress(v));
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Follows a just-published version until the fleet has answered
    /// (called before any stream pushes it).
    pub fn track(&self, published: propagation::Published) {
        self.lock_propagations()
            .track(published, |v| self.progress(v));
    }

    /// Ends the propagations followed for longer than `limit`.
    pub fn expire_propagations(&self, limit: Duration) {
        self.lock_propagations().expire(limit, |v| self.progress(v));
    }

    // Lock order: propagations, then entries (`progress`), never the
    // other way round.
    fn lock_propagations(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.propagations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Data planes with a live config stream.
    pub fn connected_count(&self) -> usize {
        self.lock()
            .values()
            .filter(|e| e.connection.is_some())
            .count()
    }

    pub fn list(&self) -> Vec<DataPlaneRow> {
        let mut rows: Vec<_> = self.lock().values().map(|e| e.row.clone()).collect();
        rows.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        rows
    }

    pub async fn connected(&self, node_id: &str, software_version: &str) -> ConnectionId {
        let id = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed));
        let row = {
            let mut entries = self.lock();
            let entry = entries.entry(node_id.to_string()).or_insert_with(|| Entry {
                row: DataPlaneRow {
                    node_id: node_id.to_string(),
                    connected: true,
                    applied_version: None,
                    applied_hash: None,
                    last_seen: chrono::Utc::now(),
                    last_nack_version: None,
                    last_nack_error: None,
                    software_version: software_version.to_string(),
                },
                connection: None,
            });
            entry.connection = Some(id);
            entry.row.connected = true;
            entry.row.last_seen = chrono::Utc::now();
            entry.row.software_version = software_version.to_string();
            entry.row.clone()
        };
        self.changed();
        self.persist(row).await;
        id
    }

    /// The data plane serves `version`/`hash` (ACK, heartbeat or hello).
    pub async fn serving(&self, node_id: &str, conn: ConnectionId, version: u64, hash: &str) {
        self.update(node_id, conn, |row| {
            if version > 0 {
                row.applied_version = i64::try_from(version).ok();
                row.applied_hash = Some(hash.to_string());
            }
        })
        .await;
    }

    pub async fn rejected(&self, node_id: &str, conn: ConnectionId, version: u64, error: &str) {
        self.update(node_id, conn, |row| {
            row.last_nack_version = i64::try_from(version).ok();
            row.last_nack_error = Some(error.to_string());
        })
        .await;
    }

    pub async fn disconnected(&self, node_id: &str, conn: ConnectionId) {
        let row = {
            let mut entries = self.lock();
            match entries.get_mut(node_id) {
                Some(entry) if entry.connection == Some(conn) => {
                    entry.connection = None;
                    entry.row.connected = false;
                    entry.row.clone()
                }
                _ => return,
            }
        };
        self.changed();
        self.persist(row).await;
    }

    async fn update(&self, node_id: &str, conn: ConnectionId, f: impl FnOnce(&mut DataPlaneRow)) {
        let row = {
            let mut entries = self.lock();
            match entries.get_mut(node_id) {
                Some(entry) if entry.connection == Some(conn) => {
                    f(&mut entry.row);
                    entry.row.last_seen = chrono::Utc::now();
                    entry.row.clone()
                }
                _ => return,
            }
        };
        // In force in memory first: a write waiting for this node returns
        // without waiting for the status row's database write.
        self.changed();
        self.persist(row).await;
    }

    async fn persist(&self, row: DataPlaneRow) {
        if let Err(e) = self.db.upsert(&row).await {
            warn!(node_id = %row.node_id, "cannot persist data plane status: {e}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
