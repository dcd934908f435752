//! Applying a snapshot or a delta: verify, decode, build the runtime, swap.
//! Any failure leaves the previous runtime serving.

use crate::live::{Applied, LiveState, SnapshotSource};
use crate::providers::BuildError;
use crate::runtime::Runtime;
use tollgate_proto::v1::PayloadFormat;
use tollgate_shared::snapshot::{SnapshotError, decode_delta, decode_full};
use tracing::{debug, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("unsupported payload format {0}; upgrade this data plane")]
    Format(i32),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(
        "the delta applies over version {base_version} ({base_hash}), but this data plane serves {serving}; it needs a full snapshot"
    )]
    BaseMismatch {
        base_version: u64,
        base_hash: String,
        serving: String,
    },
    #[error("the delta leads to {actual}, not the announced {expected}")]
    DeltaHashMismatch { expected: String, actual: String },
    #[error(transparent)]
    NothingServed(#[from] crate::live::NothingServed),
}

fn check_format(format: i32) -> Result<(), ApplyError> {
    if format == PayloadFormat::FramedV2 as i32 {
        Ok(())
    } else {
        Err(ApplyError::Format(format))
    }
}

/// Applies a full snapshot. Returns whether the served snapshot changed.
pub fn apply_snapshot(
    live: &LiveState,
    version: u64,
    content_hash: &str,
    format: i32,
    payload: &[u8],
    source: SnapshotSource,
) -> Result<bool, ApplyError> {
    let _span =
        tracing::info_span!("snapshot_apply", otel.name = "tollgate.snapshot.apply", otel.kind = "internal", tollgate.snapshot.version = version as i64, version, hash = %content_hash, ?source).entered();
    if live
        .applied()
        .is_some_and(|a| a.version == version && a.content_hash == content_hash)
    {
        return Ok(false);
    }
    check_format(format)?;
    let (snapshot, store) = decode_full(payload, content_hash)?;
    let runtime = Runtime::build(&snapshot)?;
    if runtime.otel.otel_callback
        && !tollgate_telemetry::enabled()
        && let Err(e) = tollgate_telemetry::enable(Some(&live.node_id))
    {
        warn!("litellm_settings.callbacks asks for otel, but export did not start: {e}");
    }
    live.install(
        runtime,
        store,
        Applied {
            version,
            content_hash: content_hash.to_string(),
            source,
        },
    );
    info!(
        deployments = snapshot.deployments.len(),
        keys = snapshot.keys.len(),
        "snapshot applied"
    );
    Ok(true)
}

/// A delta over what this data plane serves.
pub struct DeltaMessage<'a> {
    pub version: u64,
    pub content_hash: &'a str,
    pub format: i32,
    pub payload: &'a [u8],
    pub base_version: u64,
    pub base_hash: &'a str,
    /// The control plane's stream, or the journal replayed at start.
    pub source: SnapshotSource,
}

/// Applies a delta: the base must be what is served, and the result must
/// have the announced hash, checked before anything is swapped.
pub fn apply_delta(live: &LiveState, delta: DeltaMessage<'_>) -> Result<(), ApplyError> {
    let _span = tracing::debug_span!(
        "delta_apply",
        version = delta.version,
        base = delta.base_version
    )
    .entered();
    check_format(delta.format)?;
    let serving = live.applied();
    if serving
        .as_ref()
        .is_none_or(|a| a.content_hash != delta.base_hash)
    {
        return Err(ApplyError::BaseMismatch {
            base_version: delta.base_version,
            base_hash: delta.base_hash.to_string(),
            serving: serving.map_or_else(|| "nothing".to_string(), |a| a.content_hash.clone()),
        });
    }
    let (change, typed) = decode_delta(delta.payload)?;
    live.update_directory(|runtime, store| {
        let actual = store.hash_after(&change);
        if actual != delta.content_hash {
            return Err(ApplyError::DeltaHashMismatch {
                expected: delta.content_hash.to_string(),
                actual,
            });
        }
        let next = runtime.with_changes(typed, &change.removals);
        store.apply(&change);
        Ok((
            next,
            Applied {
                version: delta.version,
                content_hash: delta.content_hash.to_string(),
                source: delta.source,
            },
        ))
    })?;
    debug!(
        upserts = change.upserts.len(),
        removals = change.removals.len(),
        "delta applied"
    );
    Ok(())
}
