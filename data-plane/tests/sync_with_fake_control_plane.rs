//! The real data plane against a scripted control plane: the test decides
//! what the "control plane" sends and checks every answer.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tollgate_proto::v1::config_distribution_server::{
    ConfigDistribution, ConfigDistributionServer,
};
use tollgate_proto::v1::{
    ControlPlaneMessage, DataPlaneMessage, PayloadFormat, Snapshot, control_plane_message,
    data_plane_message,
};
use tollgate_shared::config::load;
use tollgate_shared::snapshot::Snapshot as DomainSnapshot;
use tonic::{Request, Response, Status, Streaming};

enum Command {
    Send(ControlPlaneMessage),
    /// End the current stream, as a control plane restart would.
    Close,
}

struct FakeControlPlane {
    commands: Arc<Mutex<mpsc::UnboundedReceiver<Command>>>,
    seen: mpsc::UnboundedSender<DataPlaneMessage>,
}

type Out = Pin<Box<dyn Stream<Item = Result<ControlPlaneMessage, Status>> + Send>>;

#[tonic::async_trait]
impl ConfigDistribution for FakeControlPlane {
    type StreamConfigStream = Out;

    async fn stream_config(
        &self,
        request: Request<Streaming<DataPlaneMessage>>,
    ) -> Result<Response<Out>, Status> {
        let mut inbound = request.into_inner();
        let seen = self.seen.clone();
        tokio::spawn(async move {
            while let Ok(Some(m)) = inbound.message().await {
                let _ = seen.send(m);
            }
        });
        let (tx, rx) = mpsc::channel(8);
        let commands = Arc::clone(&self.commands);
        tokio::spawn(async move {
            let mut commands = commands.lock().await;
            while let Some(c) = commands.recv().await {
                match c {
                    Command::Send(m) => {
                        if tx.send(Ok(m)).await.is_err() {
                            return;
                        }
                    }
                    Command::Close => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct Harness {
    commands: mpsc::UnboundedSender<Command>,
    seen: mpsc::UnboundedReceiver<DataPlaneMessage>,
    http: String,
    cancel: CancellationToken,
    _state: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Harness {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fake = FakeControlPlane {
            commands: Arc::new(Mutex::new(commands_rx)),
            seen: seen_tx,
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(ConfigDistributionServer::new(fake))
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        let state = tempfile::tempdir().expect("tempdir");
        let cancel = CancellationToken::new();
        let running = tollgate_data_plane::start(
            tollgate_data_plane::Options {
                listen: "127.0.0.1:0".parse().expect("addr"),
                port: None,
                control_plane: format!("http://{addr}"),
                cluster_token: "test-token-0123456789".into(),
                node_id: Some("dp-test".into()),
                state_dir: state.path().to_path_buf(),
                tls_ca: None,
                heartbeat_secs: 60,
                usage_buffer_records: 200_000,
                drain_delay: Duration::ZERO,
                in_process_quota: None,
            },
            cancel.clone(),
        )
        .await
        .expect("data plane starts");
        Harness {
            commands: commands_tx,
            seen: seen_rx,
            http: format!("http://{}", running.addr),
            cancel,
            _state: state,
        }
    }

    async fn next(&mut self) -> data_plane_message::Kind {
        tokio::time::timeout(Duration::from_secs(10), self.seen.recv())
            .await
            .expect("the data plane answers in time")
            .and_then(|m| m.kind)
            .expect("a message with a kind")
    }

    fn send(&self, snapshot: Snapshot) {
        let m = ControlPlaneMessage {
            kind: Some(control_plane_message::Kind::Snapshot(snapshot)),
        };
        assert!(self.commands.send(Command::Send(m)).is_ok());
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.http))
            .header("authorization", "Bearer sk-master")
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json body"))
    }
}

fn snapshot(version: u64, models: &[&str], schema: Option<u32>) -> Snapshot {
    let mut yaml = String::from("general_settings: {master_key: sk-master}\nmodel_list:\n");
    for m in models {
        yaml.push_str(&format!(
            "  - model_name: {m}\n    litellm_params: {{model: openai/{m}, mock_response: hi}}\n"
        ));
    }
    let mut domain = DomainSnapshot::from_config(&load(&yaml, &BTreeMap::new()).expect("valid"));
    if let Some(schema) = schema {
        domain.schema = schema;
    }
    let encoded = domain.encode().expect("encodes");
    Snapshot {
        version,
        content_hash: encoded.content_hash,
        nonce: format!("n{version}"),
        format: PayloadFormat::FramedV2.into(),
        payload: encoded.payload.into(),
        base_version: 0,
        base_hash: String::new(),
    }
}

fn model_ids(body: &serde_json::Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn acks_good_snapshots_nacks_bad_ones_and_keeps_serving() {
    let mut h = Harness::start().await;
    let hello = match h.next().await {
        data_plane_message::Kind::Hello(hello) => hello,
        other => panic!("expected Hello, got {other:?}"),
    };
    assert_eq!((hello.node_id.as_str(), hello.version), ("dp-test", 0));
    assert_eq!(h.get("/health/readiness").await.0, 503);

    // A payload whose bytes do not match the announced hash.
    let mut tampered = snapshot(1, &["a"], None);
    tampered.content_hash = "0".repeat(64);
    h.send(tampered);
    match h.next().await {
        data_plane_message::Kind::Nack(nack) => {
            assert_eq!((nack.version, nack.serving_version), (1, 0));
            assert!(nack.error.contains("does not match"), "{}", nack.error);
            assert_eq!(nack.nonce, "n1");
        }
        other => panic!("expected Nack, got {other:?}"),
    }
    assert_eq!(h.get("/health/readiness").await.0, 503);

    let good = snapshot(2, &["a", "b"], None);
    let good_hash = good.content_hash.clone();
    h.send(good);
    match h.next().await {
        data_plane_message::Kind::Ack(ack) => {
            assert_eq!(
                (ack.version, ack.content_hash.as_str(), ack.nonce.as_str()),
                (2, good_hash.as_str(), "n2")
            );
        }
        other => panic!("expected Ack, got {other:?}"),
    }
    let (status, ready) = h.get("/health/readiness").await;
    assert_eq!(status, 200);
    assert_eq!(ready["snapshot_version"], 2);
    assert_eq!(ready["snapshot_source"], "control_plane");
    assert_eq!(model_ids(&h.get("/v1/models").await.1), ["a", "b"]);

    // A schema from the future: rejected, version 2 keeps serving.
    h.send(snapshot(3, &["c"], Some(99)));
    match h.next().await {
        data_plane_message::Kind::Nack(nack) => {
            assert_eq!((nack.version, nack.serving_version), (3, 2));
            assert_eq!(nack.serving_hash, good_hash);
            assert!(nack.error.contains("schema 99"), "{}", nack.error);
        }
        other => panic!("expected Nack, got {other:?}"),
    }
    assert_eq!(model_ids(&h.get("/v1/models").await.1), ["a", "b"]);

    // The control plane drops the stream: the data plane reconnects and
    // says what it serves, so nothing is resent needlessly.
    assert!(h.commands.send(Command::Close).is_ok());
    match h.next().await {
        data_plane_message::Kind::Hello(hello) => {
            assert_eq!(
                (hello.version, hello.content_hash.as_str()),
                (2, good_hash.as_str())
            );
        }
        other => panic!("expected a new Hello, got {other:?}"),
    }
    assert_eq!(model_ids(&h.get("/v1/models").await.1), ["a", "b"]);
    h.cancel.cancel();
}

#[tokio::test]
async fn a_restarted_data_plane_serves_its_saved_snapshot() {
    let mut h = Harness::start().await;
    let _hello = h.next().await;
    h.send(snapshot(5, &["saved"], None));
    assert!(matches!(h.next().await, data_plane_message::Kind::Ack(_)));
    h.cancel.cancel();

    // Same state directory, a control plane that never answers.
    let cancel = CancellationToken::new();
    let running = tollgate_data_plane::start(
        tollgate_data_plane::Options {
            listen: "127.0.0.1:0".parse().expect("addr"),
            port: None,
            control_plane: "http://127.0.0.1:9".into(),
            cluster_token: "test-token-0123456789".into(),
            node_id: None,
            state_dir: h._state.path().to_path_buf(),
            tls_ca: None,
            heartbeat_secs: 60,
            usage_buffer_records: 200_000,
            drain_delay: Duration::ZERO,
            in_process_quota: None,
        },
        cancel.clone(),
    )
    .await
    .expect("starts");
    let body: serde_json::Value = reqwest::get(format!("http://{}/health/readiness", running.addr))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    // LiteLLM's readiness body: healthy from disk, its "db" (the control plane) away.
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["db"], "disconnected");
    assert_eq!(body["snapshot_version"], 5);
    assert_eq!(body["snapshot_source"], "disk");
    assert_eq!(body["control_plane"], "disconnected");
    cancel.cancel();
}

fn virtual_key(plaintext: &str, blocked: bool) -> tollgate_shared::snapshot::VirtualKey {
    tollgate_shared::snapshot::VirtualKey {
        blocked,
        ..tollgate_shared::snapshot::VirtualKey::unrestricted(tollgate_shared::keys::KeyHash::of(
            plaintext,
        ))
    }
}

async fn models_status(h: &Harness, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1/models", h.http))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn deltas_change_keys_in_place_and_a_wrong_base_or_hash_is_nacked() {
    use tollgate_shared::snapshot::{DirectoryChange, EntryKind, stored};
    let mut h = Harness::start().await;
    let _hello = h.next().await;
    let mut domain = DomainSnapshot::from_config(
        &load(
            "general_settings: {master_key: sk-master}\nmodel_list:\n  - model_name: a\n    litellm_params: {model: openai/a, mock_response: hi}\n",
            &BTreeMap::new(),
        )
        .expect("valid"),
    );
    domain.keys = vec![virtual_key("sk-one", false)];
    let (_, mut store) = {
        let e = domain.encode().expect("encodes");
        h.send(Snapshot {
            version: 1,
            content_hash: e.content_hash.clone(),
            nonce: "n1".into(),
            format: PayloadFormat::FramedV2.into(),
            payload: e.payload.clone().into(),
            base_version: 0,
            base_hash: String::new(),
        });
        tollgate_shared::snapshot::decode_full(&e.payload, &e.content_hash).expect("decodes")
    };
    assert!(matches!(h.next().await, data_plane_message::Kind::Ack(_)));
    assert_eq!(models_status(&h, "sk-one").await, 200);
    assert_eq!(models_status(&h, "sk-two").await, 401);

    // Block one key, add another: one delta.
    let base = store.content_hash();
    let mut change = DirectoryChange::default();
    for k in [virtual_key("sk-one", true), virtual_key("sk-two", false)] {
        let (id, entry) = stored(&k);
        change.upserts.push((id, entry.expect("encodes")));
    }
    let delta =
        |version: u64, hash: String, base_hash: String, change: &DirectoryChange| Snapshot {
            version,
            content_hash: hash,
            nonce: format!("n{version}"),
            format: PayloadFormat::FramedV2.into(),
            payload: change.encode().into(),
            base_version: version - 1,
            base_hash,
        };
    let next_hash = store.hash_after(&change);
    h.send(delta(2, next_hash.clone(), base.clone(), &change));
    match h.next().await {
        data_plane_message::Kind::Ack(ack) => {
            assert_eq!((ack.version, ack.content_hash), (2, next_hash.clone()))
        }
        other => panic!("expected Ack, got {other:?}"),
    }
    // In force when acknowledged: no waiting.
    assert_eq!(models_status(&h, "sk-one").await, 401);
    assert_eq!(models_status(&h, "sk-two").await, 200);
    store.apply(&change);

    // A delta over a base this data plane does not serve.
    let mut removal = DirectoryChange::default();
    removal.removals.push((
        EntryKind::Key,
        tollgate_shared::keys::KeyHash::of("sk-two").to_hex(),
    ));
    h.send(delta(3, store.hash_after(&removal), base, &removal));
    match h.next().await {
        data_plane_message::Kind::Nack(nack) => {
            assert_eq!((nack.version, nack.serving_version), (3, 2));
            assert!(nack.error.contains("full snapshot"), "{}", nack.error);
        }
        other => panic!("expected Nack, got {other:?}"),
    }
    // The right base, but an announced hash the delta does not lead to.
    h.send(delta(3, "f".repeat(64), next_hash.clone(), &removal));
    match h.next().await {
        data_plane_message::Kind::Nack(nack) => {
            assert!(nack.error.contains("not the announced"), "{}", nack.error);
        }
        other => panic!("expected Nack, got {other:?}"),
    }
    assert_eq!(models_status(&h, "sk-two").await, 200);
    // And the right one removes the key.
    h.send(delta(3, store.hash_after(&removal), next_hash, &removal));
    assert!(matches!(h.next().await, data_plane_message::Kind::Ack(_)));
    assert_eq!(models_status(&h, "sk-two").await, 401);
    h.cancel.cancel();
}
