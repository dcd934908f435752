//! Applying a snapshot: verify, decode, build the runtime, swap. Any failure
//! leaves the previous runtime serving.

use crate::live::{Applied, LiveState, SnapshotSource};
use crate::providers::BuildError;
use crate::runtime::Runtime;
use tollgate_proto::v1::PayloadFormat;
use tollgate_shared::snapshot::{Snapshot, SnapshotError};
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("unsupported payload format {0}; upgrade this data plane")]
    Format(i32),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Returns whether the served snapshot changed.
pub fn apply_snapshot(
    live: &LiveState,
    version: u64,
    content_hash: &str,
    format: i32,
    payload: &[u8],
    source: SnapshotSource,
) -> Result<bool, ApplyError> {
    let _span =
        tracing::info_span!("snapshot_apply", version, hash = %content_hash, ?source).entered();
    if live
        .applied()
        .is_some_and(|a| a.version == version && a.content_hash == content_hash)
    {
        return Ok(false);
    }
    if format != PayloadFormat::JsonV1 as i32 {
        return Err(ApplyError::Format(format));
    }
    let snapshot = Snapshot::decode(payload, content_hash)?;
    let runtime = Runtime::build(&snapshot)?;
    live.install(
        runtime,
        Applied {
            version,
            content_hash: content_hash.to_string(),
            source,
        },
    );
    info!(deployments = snapshot.deployments.len(), "snapshot applied");
    Ok(true)
}
