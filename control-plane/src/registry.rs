//! Which data planes exist and what each one serves.
//!
//! The in-memory map is authoritative while the process runs (status reads
//! never touch the database); every change is written through to the
//! `data_planes` table for dashboards and for the next start.

use crate::db::{DataPlaneRow, DataPlanes};
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
        })
    }

    /// Where the fleet is with `version`: connected nodes that serve it or
    /// a later one, and those that do not.
    pub fn applied(&self, version: u64) -> (FleetApplied, bool) {
        let entries = self.lock();
        let mut fleet = FleetApplied {
            applied: 0,
            connected: 0,
            laggards: Vec::new(),
        };
        let mut settled = true;
        for entry in entries.values().filter(|e| e.connection.is_some()) {
            fleet.connected += 1;
            let at = |v: Option<i64>| v.is_some_and(|v| v.unsigned_abs() >= version);
            if at(entry.row.applied_version) {
                fleet.applied += 1;
            } else {
                fleet.laggards.push(entry.row.node_id.clone());
                // A node that rejected this version (or a later one) will
                // not apply it: waiting for it is pointless.
                if !at(entry.row.last_nack_version) {
                    settled = false;
                }
            }
        }
        fleet.laggards.sort();
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
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
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
