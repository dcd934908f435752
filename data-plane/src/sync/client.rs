//! The config stream: hello, then apply each snapshot and answer ACK or
//! NACK, heartbeat with the served hash, reconnect with jittered backoff.

use super::apply::{DeltaMessage, apply_delta, apply_snapshot};
use super::backoff::Backoff;
use super::connect::{ConnectError, Endpoint};
use crate::live::{LiveState, SnapshotSource};
use std::path::PathBuf;
use std::sync::Arc;
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

/// Runs the config stream until cancelled; returns once the saver has
/// written what is served one last time.
pub async fn run(live: Arc<LiveState>, opts: SyncOptions, cancel: CancellationToken) {
    let saver = tokio::spawn(super::disk::run_saver(
        Arc::clone(&live),
        opts.state_dir.clone(),
        cancel.clone(),
    ));
    stream(&live, &opts, &cancel).await;
    let _ = saver.await;
}

async fn stream(live: &Arc<LiveState>, opts: &SyncOptions, cancel: &CancellationToken) {
    // Capped at 500 ms: a healed partition or an elected standby is found
    // within half a second (a refused or unroutable connect costs nothing).
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
    loop {
        let result = session(live, opts, cancel, &mut backoff).await;
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
    opts: &SyncOptions,
    cancel: &CancellationToken,
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
                        let reply = receive(live, opts, snapshot).await;
                        if tx.send(message(reply)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Some(control_plane_message::Kind::HeartbeatAck(_)) | None => {}
                },
            },
        }
    }
}

/// Applies one snapshot or delta and says how it went. A full snapshot is
/// saved for restarts before its ACK (it is rare and may change
/// deployments); a delta's ACK goes out once it is in force, and the saver
/// (`disk::run_saver`) writes it a moment later, off this path.
async fn receive(
    live: &Arc<LiveState>,
    opts: &SyncOptions,
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
    let full = base_hash.is_empty();
    let applied = {
        let live = Arc::clone(live);
        let hash = content_hash.clone();
        let payload = payload.clone();
        // Decoding a large snapshot is CPU work: keep it off the workers
        // that serve requests.
        tokio::task::spawn_blocking(move || {
            if base_hash.is_empty() {
                apply_snapshot(
                    &live,
                    version,
                    &hash,
                    format,
                    &payload,
                    SnapshotSource::ControlPlane,
                )
                .map(|_| ())
            } else {
                apply_delta(
                    &live,
                    DeltaMessage {
                        version,
                        content_hash: &hash,
                        format,
                        payload: &payload,
                        base_version,
                        base_hash: &base_hash,
                    },
                )
            }
        })
        .await
    };
    let error = match applied {
        Ok(Ok(())) => {
            if full {
                save(live, opts, version, &content_hash, payload).await;
            }
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

async fn save(
    live: &Arc<LiveState>,
    opts: &SyncOptions,
    version: u64,
    content_hash: &str,
    payload: bytes::Bytes,
) {
    if live.saved_hash().as_deref() == Some(content_hash) {
        return;
    }
    let dir = opts.state_dir.clone();
    let hash = content_hash.to_string();
    let saved =
        tokio::task::spawn_blocking(move || super::disk::persist(&dir, version, &hash, &payload))
            .await;
    match saved {
        Ok(Ok(())) => live.mark_saved(content_hash),
        Ok(Err(e)) => error!("cannot save the snapshot for restarts: {e}"),
        Err(e) => error!("cannot save the snapshot for restarts: {e}"),
    }
}
