//! The status view shared by the HTTP status API and the gRPC admin service.

use crate::publisher::{ConfigStatus, Published};
use crate::registry::Registry;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub snapshot: Option<SnapshotView>,
    pub config: ConfigStatus,
    pub data_planes: Vec<DataPlaneView>,
    /// Connected data planes that do not serve the published snapshot: a
    /// write answered with `x-tollgate-applied: n/m`, n < m, names them here.
    pub laggards: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotView {
    pub version: u64,
    pub content_hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize)]
pub struct DataPlaneView {
    pub node_id: String,
    pub connected: bool,
    pub applied_version: Option<u64>,
    pub applied_hash: Option<String>,
    pub last_seen: chrono::DateTime<chrono::Utc>,
    pub last_nack_version: Option<u64>,
    pub last_nack_error: Option<String>,
    /// Serves exactly the published snapshot.
    pub in_sync: bool,
    pub software_version: String,
}

pub fn collect(
    published: Option<&Arc<Published>>,
    config: ConfigStatus,
    registry: &Registry,
) -> StatusView {
    let data_planes = registry
        .list()
        .into_iter()
        .map(|row| DataPlaneView {
            in_sync: published
                .is_some_and(|p| row.applied_hash.as_deref() == Some(p.content_hash.as_str())),
            node_id: row.node_id,
            connected: row.connected,
            applied_version: row.applied_version.map(i64::unsigned_abs),
            applied_hash: row.applied_hash,
            last_seen: row.last_seen,
            last_nack_version: row.last_nack_version.map(i64::unsigned_abs),
            last_nack_error: row.last_nack_error,
            software_version: row.software_version,
        })
        .collect::<Vec<DataPlaneView>>();
    let laggards = data_planes
        .iter()
        .filter(|d| d.connected && !d.in_sync)
        .map(|d| d.node_id.clone())
        .collect();
    StatusView {
        laggards,
        snapshot: published.map(|p| SnapshotView {
            version: p.version,
            content_hash: p.content_hash.clone(),
            created_at: p.created_at,
        }),
        config,
        data_planes,
    }
}
