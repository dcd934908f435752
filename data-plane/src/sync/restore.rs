//! Starting from the state directory: the saved base, then every delta
//! journaled after it, so a data plane restarted while the control plane is
//! down serves what it last ACKed (static stability).

use super::apply::{DeltaMessage, apply_delta, apply_snapshot};
use super::disk;
use crate::live::{LiveState, SnapshotSource};
use std::path::Path;
use tollgate_proto::v1::PayloadFormat;
use tracing::{info, warn};

pub fn restore(live: &LiveState, state_dir: &Path) {
    let saved = match disk::load(state_dir) {
        Ok(Some(saved)) => saved,
        Ok(None) => {
            info!("no saved snapshot; not ready until the control plane sends one");
            return;
        }
        Err(e) => {
            warn!("ignoring the saved snapshot: {e}");
            return;
        }
    };
    let base = saved.base;
    if let Err(e) = apply_snapshot(
        live,
        base.version,
        &base.content_hash,
        PayloadFormat::FramedV2 as i32,
        &base.payload,
        SnapshotSource::Disk,
    ) {
        warn!("ignoring the saved snapshot: {e}");
        return;
    }
    let mut replayed = 0;
    for record in &saved.deltas {
        let served = live.applied().map_or(0, |a| a.version);
        // Written before the base was last rewritten.
        if record.meta.version <= served {
            continue;
        }
        let meta = &record.meta;
        let delta = DeltaMessage {
            version: meta.version,
            content_hash: &meta.content_hash,
            format: meta.format,
            payload: &record.payload,
            base_version: meta.base_version,
            base_hash: &meta.base_hash,
            source: SnapshotSource::Disk,
        };
        if let Err(e) = apply_delta(live, delta) {
            // A gap or a damaged record: serve the last state that
            // verified; the control plane sends the rest when it answers.
            warn!(
                version = meta.version,
                "stopping the delta journal replay: {e}"
            );
            break;
        }
        replayed += 1;
    }
    info!(
        version = live.applied().map_or(0, |a| a.version),
        base_version = base.version,
        replayed,
        "serving the snapshot saved on disk until the control plane answers"
    );
}
