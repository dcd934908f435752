//! The config stream: hello, then apply each snapshot and answer ACK or
//! NACK, heartbeat with the served hash, reconnect with jittered backoff.

use super::apply::{ApplyError, DeltaMessage, apply_delta, apply_snapshot};
use super::backoff::Backoff;
use super::connect::{ConnectError, Endpoint};
use super::disk::{DeltaMeta, Disk};
use crate::live::{LiveState, SnapshotSource};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tollgate_proto::v1::config_distribution_client::ConfigDistributionClient;

/// The largest snapshot message a data plane accepts.
pub const MAX_SNAPSHOT_BYTES: usize = 512 * 1024 * 1024;
use tollgate_proto::v1::{
    Ack, DataPlaneMessage, Heartbeat, Hello, Nack, Snapshot, control_plane_message,
    data_plane_message,
};
use tracing::{error, info, warn};

#[derive(Clone)]
pub struct SyncOptions {
    pub endpoint: Endpoint,
    pub state_dir: PathBuf,
    pub heartbeat: Duration,
}

/// The state directory's writer, shared with the blocking tasks the sync
/// task hands its disk work to (one at a time: never contended).
type SharedDisk = Arc<Mutex<Disk>>;

fn lock(disk: &SharedDisk) -> std::sync::MutexGuard<'_, Disk> {
    // A panic mid-write leaves at worst a torn journal tail, which replay
    // ignores; the writer itself stays usable.
    disk.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the config stream until cancelled. Everything it ACKed is on disk
/// already when it returns.
pub async fn run(live: Arc<LiveState>, opts: SyncOptions, cancel: CancellationToken) {
    let served = live.applied().map(|a| a.content_hash.clone());
    let disk = Arc::new(Mutex::new(Disk::open(&opts.state_dir, served.as_deref())));
    // A journal left by the last run is folded into the base before any
    // new delta is appended to it.
    compact_if_needed(&live, &disk).await;
    // Capped at 500 ms: a healed partition or an elected standby is found
    // within half a second (a refused or unroutable connect costs nothing).
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
    loop {
        let result = session(&live, &disk, &cancel, &opts, &mut backoff).await;
        let was_connected = live.control_plane_connected();
        live.set_control_plane_connected(false);
        if cancel.is_cancelled() {
            return;
        }
        match result {
            Ok(()) => info!("control plane closed the config stream; reconnecting"),
            Err(e) if was_connected => {
                warn!("lost the control plane: {e}; serving the last snapshot")
            }
            Err(e) => warn!("control plane unreachable: {e}"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

fn message(kind: data_plane_message::Kind) -> DataPlaneMessage {
    DataPlaneMessage { kind: Some(kind) }
}

fn serving(live: &LiveState) -> (u64, String) {
    live.applied()
        .map(|a| (a.version, a.content_hash.clone()))
        .unwrap_or_default()
}

async fn session(
    live: &Arc<LiveState>,
    disk: &SharedDisk,
    cancel: &CancellationToken,
    opts: &SyncOptions,
    backoff: &mut Backoff,
) -> Result<(), ConnectError> {
    let channel = opts.endpoint.connect().await?;
    // A snapshot carries every virtual key: 100,000 keys are ~50 MiB of JSON,
    // far past tonic's 4 MiB default.
    let mut client = ConfigDistributionClient::with_interceptor(channel, opts.endpoint.auth())
        .max_decoding_message_size(MAX_SNAPSHOT_BYTES);
    let (tx, rx) = mpsc::channel(8);
    let (version, content_hash) = serving(live);
    let hello = Hello {
        node_id: live.node_id.clone(),
        version,
        content_hash,
        software_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    // The channel is fresh and has room: this cannot fail.
    let _ = tx.try_send(message(data_plane_message::Kind::Hello(hello)));
    let mut inbound = client
        .stream_config(ReceiverStream::new(rx))
        .await?
        .into_inner();
    live.set_control_plane_connected(true);
    backoff.reset();
    info!("connected to the control plane");

    let mut heartbeat = tokio::time::interval(opts.heartbeat);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = heartbeat.tick() => {
                let (version, content_hash) = serving(live);
                let hb = Heartbeat { version, content_hash };
                if tx.send(message(data_plane_message::Kind::Heartbeat(hb))).await.is_err() {
                    return Ok(());
                }
            }
            incoming = inbound.message() => match incoming? {
                None => return Ok(()),
                Some(msg) => match msg.kind {
                    Some(control_plane_message::Kind::Snapshot(snapshot)) => {
                        let reply = receive(live, disk, snapshot).await;
                        if tx.send(message(reply)).await.is_err() {
                            return Ok(());
                        }
                        // After the ACK, so no write waits for it.
                        compact_if_needed(live, disk).await;
                    }
                    Some(control_plane_message::Kind::HeartbeatAck(_)) | None => {}
                },
            },
        }
    }
}

/// Applies one snapshot or delta, writes it to the state directory, and
/// says how it went: a full snapshot becomes the saved base, a delta is
/// appended to the journal, both before the ACK, so what the control plane
/// counts as applied is also what a restart serves.
async fn receive(
    live: &Arc<LiveState>,
    disk: &SharedDisk,
    snapshot: Snapshot,
) -> data_plane_message::Kind {
    let Snapshot {
        version,
        content_hash,
        nonce,
        format,
        payload,
        base_version,
        base_hash,
    } = snapshot;
    let applied = {
        let live = Arc::clone(live);
        let disk = Arc::clone(disk);
        let hash = content_hash.clone();
        // Decoding a large snapshot is CPU work, writing it is I/O: keep
        // both off the workers that serve requests.
        tokio::task::spawn_blocking(move || {
            if base_hash.is_empty() {
                apply_snapshot(
                    &live,
                    version,
                    &hash,
                    format,
                    &payload,
                    SnapshotSource::ControlPlane,
                )?;
                let mut disk = lock(&disk);
                if disk.saved_hash() != Some(hash.as_str())
                    && let Err(e) = disk.save_full(version, &hash, &payload)
                {
                    error!("cannot save the snapshot for restarts: {e}");
                }
            } else {
                let meta = DeltaMeta {
                    version,
                    content_hash: hash,
                    base_version,
                    base_hash,
                    format,
                };
                apply_delta(
                    &live,
                    DeltaMessage {
                        version,
                        content_hash: &meta.content_hash,
                        format,
                        payload: &payload,
                        base_version,
                        base_hash: &meta.base_hash,
                        source: SnapshotSource::ControlPlane,
                    },
                )?;
                if let Err(e) = lock(&disk).append(&meta, &payload) {
                    error!("cannot journal the delta for restarts: {e}");
                }
            }
            Ok::<(), ApplyError>(())
        })
        .await
    };
    let error = match applied {
        Ok(Ok(())) => {
            return data_plane_message::Kind::Ack(Ack {
                version,
                content_hash,
                nonce,
            });
        }
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("snapshot apply panicked: {e}"),
    };
    error!(
        version,
        "rejected snapshot, still serving the previous one: {error}"
    );
    let (serving_version, serving_hash) = serving(live);
    data_plane_message::Kind::Nack(Nack {
        version,
        nonce,
        error,
        serving_version,
        serving_hash,
    })
}

/// Rewrites the base from what is served once the journal has outgrown it
/// (or the directory missed a write).
async fn compact_if_needed(live: &Arc<LiveState>, disk: &SharedDisk) {
    if !lock(disk).needs_compaction(live) {
        return;
    }
    let live = Arc::clone(live);
    let disk = Arc::clone(disk);
    let compacted = tokio::task::spawn_blocking(move || lock(&disk).compact(&live)).await;
    match compacted {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!("cannot save the snapshot for restarts: {e}"),
        Err(e) => error!("cannot save the snapshot for restarts: {e}"),
    }
}
