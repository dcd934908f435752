//! The config stream: hello, then apply each snapshot and answer ACK or
//! NACK, heartbeat with the served hash, reconnect with jittered backoff.

use super::apply::apply_snapshot;
use super::backoff::Backoff;
use super::connect::{ConnectError, Endpoint};
use super::disk;
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

pub async fn run(live: Arc<LiveState>, opts: SyncOptions, cancel: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let result = session(&live, &opts, &cancel, &mut backoff).await;
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

/// Applies one snapshot and says how it went.
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
    } = snapshot;
    let applied = {
        let live = Arc::clone(live);
        let payload = payload.clone();
        let hash = content_hash.clone();
        // Decoding a large snapshot is CPU work: keep it off the workers
        // that serve requests.
        tokio::task::spawn_blocking(move || {
            apply_snapshot(
                &live,
                version,
                &hash,
                format,
                &payload,
                SnapshotSource::ControlPlane,
            )
        })
        .await
    };
    match applied {
        Ok(Ok(changed)) => {
            if changed {
                let dir = opts.state_dir.clone();
                let hash = content_hash.clone();
                let saved = tokio::task::spawn_blocking(move || {
                    disk::persist(&dir, version, &hash, &payload)
                })
                .await;
                match saved {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => error!("cannot save the snapshot for restarts: {e}"),
                    Err(e) => error!("cannot save the snapshot for restarts: {e}"),
                }
            }
            data_plane_message::Kind::Ack(Ack {
                version,
                content_hash,
                nonce,
            })
        }
        Ok(Err(e)) => {
            error!(
                version,
                "rejected snapshot, still serving the previous one: {e}"
            );
            let (serving_version, serving_hash) = serving(live);
            data_plane_message::Kind::Nack(Nack {
                version,
                nonce,
                error: e.to_string(),
                serving_version,
                serving_hash,
            })
        }
        Err(e) => {
            let (serving_version, serving_hash) = serving(live);
            data_plane_message::Kind::Nack(Nack {
                version,
                nonce,
                error: format!("snapshot apply panicked: {e}"),
                serving_version,
                serving_hash,
            })
        }
    }
}
