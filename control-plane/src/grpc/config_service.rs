//! One session per data plane stream: send the published snapshot whenever
//! it differs from what the data plane serves, record ACKs, NACKs and
//! heartbeats.

use crate::publisher::Published;
use crate::registry::ConnectionId;
use crate::state::AppState;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tollgate_proto::v1::config_distribution_server::ConfigDistribution;
use tollgate_proto::v1::{
    ControlPlaneMessage, DataPlaneMessage, HeartbeatAck, Hello, PayloadFormat, Snapshot,
    control_plane_message, data_plane_message,
};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, debug, info, info_span, warn};

/// A data plane must introduce itself promptly or the stream is dropped.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ConfigService {
    state: AppState,
}

impl ConfigService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type Outbound = Pin<Box<dyn Stream<Item = Result<ControlPlaneMessage, Status>> + Send>>;

#[tonic::async_trait]
impl ConfigDistribution for ConfigService {
    type StreamConfigStream = Outbound;

    async fn stream_config(
        &self,
        request: Request<Streaming<DataPlaneMessage>>,
    ) -> Result<Response<Self::StreamConfigStream>, Status> {
        let mut inbound = request.into_inner();
        let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("expected a Hello message first"))??;
        let hello = match first.and_then(|m| m.kind) {
            Some(data_plane_message::Kind::Hello(h)) if !h.node_id.is_empty() => h,
            _ => {
                return Err(Status::invalid_argument(
                    "the first message must be a Hello with a node_id",
                ));
            }
        };
        // Small buffer: snapshots are large and the latest one is all that
        // matters; back-pressure here is correct.
        let (tx, rx) = mpsc::channel(4);
        let span = info_span!("config_stream", node_id = %hello.node_id);
        tokio::spawn(
            Session::new(self.state.clone(), tx)
                .run(hello, inbound)
                .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct Session {
    state: AppState,
    tx: mpsc::Sender<Result<ControlPlaneMessage, Status>>,
    /// Version last sent on this stream, so one version is sent once.
    sent: Option<u64>,
    /// Version this data plane rejected; not resent until a newer one exists.
    rejected: Option<u64>,
}

impl Session {
    fn new(state: AppState, tx: mpsc::Sender<Result<ControlPlaneMessage, Status>>) -> Self {
        Self {
            state,
            tx,
            sent: None,
            rejected: None,
        }
    }

    async fn run(mut self, hello: Hello, mut inbound: Streaming<DataPlaneMessage>) {
        let node_id = hello.node_id.clone();
        let registry = Arc::clone(&self.state.registry);
        let conn = registry.connected(&node_id, &hello.software_version).await;
        info!(version = hello.version, "data plane connected");
        registry
            .serving(&node_id, conn, hello.version, &hello.content_hash)
            .await;

        let mut published = self.state.published.clone();
        let current = published.borrow_and_update().clone();
        if let Some(p) = current
            && p.content_hash != hello.content_hash
            && !self.send(&p).await
        {
            registry.disconnected(&node_id, conn).await;
            return;
        }

        let cancel = self.state.cancel.clone();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                changed = published.changed() => {
                    if changed.is_err() { break }
                    let current = published.borrow_and_update().clone();
                    if let Some(p) = current
                        && self.sent != Some(p.version) && !self.send(&p).await { break }
                }
                message = inbound.message() => match message {
                    Ok(Some(message)) => {
                        if !self.handle(&node_id, conn, message).await { break }
                    }
                    Ok(None) => break,
                    Err(status) => {
                        debug!("stream ended: {status}");
                        break;
                    }
                },
            }
        }
        registry.disconnected(&node_id, conn).await;
        info!("data plane disconnected");
    }

    /// Returns false when the stream is gone.
    async fn handle(
        &mut self,
        node_id: &str,
        conn: ConnectionId,
        message: DataPlaneMessage,
    ) -> bool {
        let registry = &self.state.registry;
        match message.kind {
            Some(data_plane_message::Kind::Ack(ack)) => {
                info!(version = ack.version, "data plane applied snapshot");
                registry
                    .serving(node_id, conn, ack.version, &ack.content_hash)
                    .await;
                true
            }
            Some(data_plane_message::Kind::Nack(nack)) => {
                warn!(
                    version = nack.version,
                    serving = nack.serving_version,
                    "data plane rejected snapshot: {}",
                    nack.error
                );
                self.rejected = Some(nack.version);
                registry
                    .rejected(node_id, conn, nack.version, &nack.error)
                    .await;
                true
            }
            Some(data_plane_message::Kind::Heartbeat(hb)) => {
                registry
                    .serving(node_id, conn, hb.version, &hb.content_hash)
                    .await;
                let current = self.state.current();
                let reply = ControlPlaneMessage {
                    kind: Some(control_plane_message::Kind::HeartbeatAck(HeartbeatAck {
                        current_version: current.as_ref().map_or(0, |p| p.version),
                        current_hash: current
                            .as_ref()
                            .map(|p| p.content_hash.clone())
                            .unwrap_or_default(),
                    })),
                };
                if self.tx.send(Ok(reply)).await.is_err() {
                    return false;
                }
                // Drift: the data plane serves something else than what was
                // published (a lost message, a restart from disk). Resend,
                // unless it already said it cannot apply this version.
                match current {
                    Some(p)
                        if p.content_hash != hb.content_hash
                            && self.rejected != Some(p.version) =>
                    {
                        warn!(
                            serving = hb.version,
                            published = p.version,
                            "data plane drifted; resending"
                        );
                        self.send(&p).await
                    }
                    _ => true,
                }
            }
            Some(data_plane_message::Kind::Hello(_)) | None => true,
        }
    }

    async fn send(&mut self, p: &Published) -> bool {
        let nonce: u64 = rand::random();
        let message = ControlPlaneMessage {
            kind: Some(control_plane_message::Kind::Snapshot(Snapshot {
                version: p.version,
                content_hash: p.content_hash.clone(),
                nonce: format!("{nonce:016x}"),
                format: PayloadFormat::JsonV1.into(),
                // A reference-count bump: the bytes were serialized once.
                payload: p.payload.clone(),
            })),
        };
        self.sent = Some(p.version);
        self.tx.send(Ok(message)).await.is_ok()
    }
}
