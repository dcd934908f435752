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
    /// What the data plane serves once it has applied everything sent:
    /// the base of the next delta.
    sent: Option<(u64, String)>,
    /// The last full snapshot sent (version, nonce): its NACK means the
    /// version is rejected, a delta's NACK means "send a full one".
    full_sent: Option<(u64, String)>,
    /// Version this data plane rejected; not resent until a newer one exists.
    rejected: Option<u64>,
    /// Messages sent and not yet answered: a heartbeat that differs from
    /// `sent` while some are in flight is not drift.
    in_flight: usize,
}

impl Session {
    fn new(state: AppState, tx: mpsc::Sender<Result<ControlPlaneMessage, Status>>) -> Self {
        Self {
            state,
            tx,
            sent: None,
            full_sent: None,
            rejected: None,
            in_flight: 0,
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
        if hello.version > 0 {
            self.sent = Some((hello.version, hello.content_hash.clone()));
        }

        let mut published = self.state.published.clone();
        let current = published.borrow_and_update().clone();
        if let Some(p) = current
            && p.content_hash != hello.content_hash
            && !self.update(&p).await
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
                    if let Some(p) = current && !self.update(&p).await { break }
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
                self.in_flight = self.in_flight.saturating_sub(1);
                debug!(version = ack.version, "data plane applied snapshot");
                metrics::counter!("tollgate_snapshot_acks_total", "result" => "ack").increment(1);
                registry
                    .serving(node_id, conn, ack.version, &ack.content_hash)
                    .await;
                true
            }
            Some(data_plane_message::Kind::Nack(nack)) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                metrics::counter!("tollgate_snapshot_acks_total", "result" => "nack").increment(1);
                let full = self
                    .full_sent
                    .as_ref()
                    .is_some_and(|(v, nonce)| *v == nack.version && *nonce == nack.nonce);
                if full {
                    warn!(
                        version = nack.version,
                        serving = nack.serving_version,
                        "data plane rejected snapshot: {}",
                        nack.error
                    );
                    self.rejected = Some(nack.version);
                    self.sent = Some((nack.serving_version, nack.serving_hash));
                    registry
                        .rejected(node_id, conn, nack.version, &nack.error)
                        .await;
                    return true;
                }
                if self
                    .full_sent
                    .as_ref()
                    .is_some_and(|(v, _)| *v >= nack.version)
                {
                    // A delta sent before a full snapshot that supersedes it.
                    return true;
                }
                info!(
                    version = nack.version,
                    "data plane cannot apply a delta ({}); sending the full snapshot", nack.error
                );
                self.send_full().await
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
                // published (a lost message, a restart from disk), with
                // nothing on its way to it. Resend, unless it already said it
                // cannot apply this version.
                match current {
                    Some(p)
                        if self.in_flight == 0
                            && p.content_hash != hb.content_hash
                            && self.rejected != Some(p.version) =>
                    {
                        warn!(
                            serving = hb.version,
                            published = p.version,
                            "data plane drifted; resending"
                        );
                        self.sent = Some((hb.version, hb.content_hash));
                        self.update(&p).await
                    }
                    _ => true,
                }
            }
            Some(data_plane_message::Kind::Hello(_)) | None => true,
        }
    }

    /// Brings the data plane to `p`: the deltas it is missing when the
    /// history has them, else the full snapshot.
    async fn update(&mut self, p: &Arc<Published>) -> bool {
        if self.sent.as_ref().is_some_and(|(v, _)| *v == p.version) {
            return true;
        }
        let chain = self
            .sent
            .as_ref()
            .and_then(|(v, h)| self.state.publisher.deltas(*v, h, p.version));
        match chain {
            Some(chain) => {
                for step in chain {
                    let Some(delta) = step.delta.as_ref() else {
                        return self.send_full().await;
                    };
                    let message = Snapshot {
                        version: step.version,
                        content_hash: step.content_hash.clone(),
                        nonce: nonce(),
                        format: PayloadFormat::FramedV2.into(),
                        // A reference-count bump: serialized once.
                        payload: delta.payload.clone(),
                        base_version: delta.base_version,
                        base_hash: delta.base_hash.clone(),
                    };
                    if !self.send(message).await {
                        return false;
                    }
                    self.sent = Some((step.version, step.content_hash.clone()));
                }
                true
            }
            None => self.send_full().await,
        }
    }

    async fn send_full(&mut self) -> bool {
        let Some(full) = self.state.publisher.full().await else {
            return true;
        };
        let nonce = nonce();
        let message = Snapshot {
            version: full.version,
            content_hash: full.content_hash.clone(),
            nonce: nonce.clone(),
            format: PayloadFormat::FramedV2.into(),
            // A reference-count bump: the bytes were built once.
            payload: full.payload.clone(),
            base_version: 0,
            base_hash: String::new(),
        };
        self.full_sent = Some((full.version, nonce));
        self.sent = Some((full.version, full.content_hash.clone()));
        self.send(message).await
    }

    async fn send(&mut self, snapshot: Snapshot) -> bool {
        let message = ControlPlaneMessage {
            kind: Some(control_plane_message::Kind::Snapshot(snapshot)),
        };
        self.in_flight += 1;
        self.tx.send(Ok(message)).await.is_ok()
    }
}

fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}
