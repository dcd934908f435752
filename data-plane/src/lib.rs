//! The Tollgate data plane.
//!
//! Serves the OpenAI-compatible API ([`http`]) from the runtime built from
//! the last applied snapshot ([`live`], [`runtime`]); keeps that snapshot in
//! sync with the control plane and on disk ([`sync`]); reports usage
//! ([`usage`]). The request path touches no database and no disk.

pub mod http;
mod keyring;
pub mod limits;
pub mod live;
pub mod media;
mod metrics;
pub mod options;
pub mod providers;
pub mod responses;
pub mod router;
pub mod runtime;
pub mod sync;
#[cfg(test)]
mod test_support;
pub mod ui;
pub mod usage;

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use options::Options;

pub struct RunningDataPlane {
    pub addr: SocketAddr,
    pub node_id: String,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningDataPlane {
    /// Runs until cancelled; then drains in-flight requests and flushes
    /// usage before returning.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("data-plane task panicked")?
    }
}

/// The node id given, else the one saved in the state directory, else a new
/// one saved there: restarts keep their identity in the control plane.
fn node_id(given: Option<String>, state_dir: &Path) -> String {
    if let Some(id) = given.filter(|s| !s.trim().is_empty()) {
        return id;
    }
    let file = state_dir.join("node_id");
    if let Ok(saved) = std::fs::read_to_string(&file) {
        let saved = saved.trim();
        if !saved.is_empty() {
            return saved.to_string();
        }
    }
    let id = format!("dp-{:08x}", rand::random::<u32>());
    if let Err(e) = std::fs::create_dir_all(state_dir).and_then(|()| std::fs::write(&file, &id)) {
        warn!("cannot save node id to {}: {e}", file.display());
    }
    id
}

pub async fn start(opts: Options, cancel: CancellationToken) -> anyhow::Result<RunningDataPlane> {
    tollgate_shared::tls::install_crypto_provider();
    // Before anything records: metrics made earlier would be lost.
    tollgate_telemetry::metrics::install();
    let node_id = node_id(opts.node_id.clone(), &opts.state_dir);
    let live = Arc::new(live::LiveState::new(node_id.clone()));

    sync::restore(&live, &opts.state_dir);

    let endpoint = sync::connect::Endpoint::new(
        &opts.control_plane,
        &opts.cluster_token,
        opts.tls_ca.as_deref(),
    )?;
    let admin_channel = endpoint.connect_lazy();
    let spend =
        tollgate_proto::v1::spend_service_client::SpendServiceClient::new(admin_channel.clone());
    let ui = ui::Tunnel::new(endpoint.clone(), admin_channel.clone());
    let admin = tollgate_proto::v1::admin_service_client::AdminServiceClient::new(admin_channel);
    let sync_task = tokio::spawn(sync::run(
        Arc::clone(&live),
        sync::SyncOptions {
            endpoint: endpoint.clone(),
            state_dir: opts.state_dir.clone(),
            heartbeat: opts.heartbeat(),
        },
        cancel.clone(),
    ));

    let quota_endpoint = endpoint.clone();
    let (usage, records) = usage::UsageSink::channel(65_536);
    let reporter_cancel = CancellationToken::new();
    let reporter = tokio::spawn(usage::run_reporter(
        records,
        usage::ReporterOptions {
            endpoint,
            node_id: node_id.clone(),
            batch_size: 500,
            batch_age: Duration::from_millis(100),
            max_buffered: opts.usage_buffer_records,
            flush_timeout: Duration::from_secs(5),
            spill_dir: opts.state_dir.join("usage-spill"),
            journal_dir: Some(opts.state_dir.join("usage-journal")),
        },
        reporter_cancel.clone(),
    ));

    let limiter = limits::Limiter::new(limits::QuotaClient::new(
        &quota_endpoint,
        opts.in_process_quota.clone(),
        node_id.clone(),
    ));
    limits::spawn_keeper(Arc::clone(&limiter), reporter_cancel.clone());

    let client = providers::HttpClient::new().context("cannot build the HTTP client")?;

    let addr = opts.listen_addr();
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let draining = Arc::clone(&live);
    let drain_delay = opts.drain_delay;
    let state = http::AppState::new(http::Shared {
        live,
        client,
        usage,
        admin,
        spend,
        cooldowns: Arc::default(),
        stats: Arc::default(),
        limiter,
        ui,
    });
    http::health_check::spawn_background(state.clone(), cancel.clone());
    let app = http::router(state);
    info!(%addr, node_id, "data plane listening");

    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt as _;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let stop_accepting = async move {
            cancel.cancelled().await;
            if !drain_delay.is_zero() {
                draining.start_draining();
                info!(
                    delay_ms = drain_delay.as_millis() as u64,
                    "draining: readiness 503, still serving until the delay ends"
                );
                tokio::time::sleep(drain_delay).await;
            }
        };
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(stop_accepting)
        .await;
        // In-flight requests have finished: their usage is in the channel.
        reporter_cancel.cancel();
        let _ = reporter.await;
        // The sync task ends its session (what it ACKed is on disk
        // already). Bounded: a session stuck connecting to an unreachable
        // control plane must not hold the exit.
        let _ = tokio::time::timeout(Duration::from_secs(5), sync_task).await;
        // The last requests' spans leave before the process does.
        tollgate_telemetry::shutdown(Duration::from_secs(5)).await;
        served.context("data-plane HTTP server failed")
    });
    Ok(RunningDataPlane {
        addr,
        node_id,
        task,
    })
}
