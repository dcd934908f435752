//! The Tollgate control plane.
//!
//! Owns the config file and the database; publishes versioned snapshots to
//! data planes over gRPC streams ([`grpc`]); stores the usage they report;
//! answers operators (gRPC admin service, HTTP status API).
//!
//! Start-up order matters: the config must load before anything listens, so
//! a data plane never sees a control plane without a snapshot.

pub mod customers;
pub mod db;
pub mod entity_fields;
pub mod grpc;
pub mod keys;
pub mod leader;
pub mod manage_error;
pub mod master_key;
mod metrics;
pub mod options;
pub mod prices;
pub mod propagation;
pub mod publisher;
pub mod quota;
pub mod registry;
pub mod spend;
pub mod state;
pub mod status;
pub mod teams;
pub mod ui;
pub mod users;

mod config_watch;
mod http;
mod ports;

use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tollgate_shared::config::{self, ProcessEnv};
use tollgate_shared::secret::SecretString;
use tracing::{error, info, warn};

pub use options::Options;

/// Where the master key the control plane enforces comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `general_settings.master_key` in the config file.
    Config,
    /// The `LITELLM_MASTER_KEY` environment variable.
    Environment,
    /// None was configured; this one was generated for this run.
    Generated(String),
}

pub struct RunningControlPlane {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub master_key_source: MasterKeySource,
    /// The service behind `QuotaService.Exchange`, for a data plane in this
    /// process to call without the wire (the one-process gateway).
    quota: Arc<quota::QuotaService>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    _watch: config_watch::ConfigWatch,
}

impl RunningControlPlane {
    /// The quota service the gRPC server serves, as an object: the same
    /// coordinator, so exchanges made through it and over gRPC share every
    /// meter.
    pub fn quota_service(&self) -> Arc<dyn tollgate_proto::v1::quota_service_server::QuotaService> {
        Arc::clone(&self.quota) as _
    }

    /// Runs until the cancellation token fires or a server fails.
    pub async fn wait(self) -> anyhow::Result<()> {
        for task in self.tasks {
            task.await.context("control-plane task panicked")??;
        }
        Ok(())
    }
}

pub async fn start(
    opts: Options,
    cancel: CancellationToken,
) -> anyhow::Result<RunningControlPlane> {
    // Explicit: the workspace compiles two rustls backends, and rustls will
    // not choose between them by itself (a TLS handshake would panic).
    tollgate_shared::tls::install_crypto_provider();
    tollgate_telemetry::metrics::install();
    if opts.cluster_token.len() < 16 {
        warn!("the cluster token is shorter than 16 characters; use a long random one");
    }
    let initial = config::load_file(&opts.config, &ProcessEnv)
        .with_context(|| format!("cannot start with config {}", opts.config.display()))?;
    let general = &initial.config.general_settings;
    let otel = tollgate_telemetry::OtelSettings::from_sections(
        initial.raw_sections.get("litellm_settings"),
        initial.raw_sections.get("general_settings"),
    );
    if otel.otel_callback
        && !tollgate_telemetry::enabled()
        && let Err(e) = tollgate_telemetry::enable(None)
    {
        warn!("litellm_settings.callbacks asks for otel, but export did not start: {e}");
    }

    let (fallback_key, master_key_source) =
        match (&general.master_key, std::env::var("LITELLM_MASTER_KEY")) {
            (Some(_), _) => (None, MasterKeySource::Config),
            (None, Ok(key)) if !key.is_empty() => {
                (Some(SecretString::new(key)), MasterKeySource::Environment)
            }
            _ => {
                let key = master_key::generate();
                (
                    Some(SecretString::new(key.clone())),
                    MasterKeySource::Generated(key),
                )
            }
        };

    let db_url = db::resolve_url(
        opts.database_url.as_deref(),
        general.database_url.as_ref().map(SecretString::expose),
        &opts.data_dir,
    );
    if db_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("cannot create data directory {}", opts.data_dir.display()))?;
    }
    // Both ports before the election (ports.rs): a standby holds its
    // addresses and answers its health while it waits.
    let grpc_port = ports::GrpcPort::bind(opts.grpc_listen)?;
    let grpc_addr = grpc_port.addr;
    let http_listener = TcpListener::bind(opts.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", opts.http_listen))?;
    let http_addr = http_listener.local_addr()?;
    let http_port = ports::HttpPort::default();
    let http_cancel = cancel.clone();
    let http_service = http_port.router();
    let http_task = tokio::spawn(async move {
        use axum::serve::ListenerExt as _;
        // The dashboard's API answers small writes; Nagle would hold them.
        let http_listener = http_listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(
            http_listener,
            http_service.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(http_cancel.cancelled_owned())
        .await
        .context("control-plane HTTP server failed");
        tollgate_telemetry::shutdown(Duration::from_secs(5)).await;
        served
    });

    // On PostgreSQL, one control plane is active: a standby waits here,
    // before migrating or serving (leader.rs).
    let leadership = if db_url.starts_with("postgres") {
        match leader::acquire(&db_url, &cancel, || http_port.standing_by()).await? {
            Some(leadership) => Some(leadership),
            None => anyhow::bail!("shut down while standing by (another control plane was active)"),
        }
    } else {
        None
    };
    let database = db::connect(&db_url, general.database_connection_pool_limit)
        .await
        .with_context(|| format!("cannot open database {}", db::redact_url(&db_url)))?;
    info!(database = %db::redact_url(&db_url), "database ready");

    let registry = Arc::new(registry::Registry::load(db::DataPlanes::new(database.clone())).await?);
    propagation::spawn_sweeper(Arc::clone(&registry), cancel.clone());
    let publisher = Arc::new(
        publisher::Publisher::new(
            opts.config.clone(),
            fallback_key,
            db::ConfigVersions::new(database.clone()),
            database.clone(),
        )
        .with_propagation(Arc::clone(&registry)),
    );
    publisher
        .publish_current()
        .await
        .context("cannot publish the initial snapshot")?;

    let key_service = Arc::new(keys::KeyService::new(
        db::VirtualKeys::new(database.clone()),
        Arc::clone(&publisher),
    ));
    let ui = Arc::new(ui::UiState::from_env(database.clone()));
    let state = state::AppState {
        published: publisher.subscribe(),
        publisher: Arc::clone(&publisher),
        apply_wait: opts.apply_wait,
        registry,
        spend_logs: db::SpendLogs::new(database.clone()).with_tail(ui.tail.clone()),
        quota: Arc::default(),
        database: database.clone(),
        metrics_require_auth: otel.metrics_require_auth,
        budget_metrics_per_key_and_user: otel.budget_metrics_per_key_and_user,
        config_status: publisher.status(),
        cancel: cancel.clone(),
        keys: Arc::clone(&key_service),
        teams: Arc::new(teams::TeamService::new(
            database.clone(),
            Arc::clone(&key_service),
            Arc::clone(&publisher),
        )),
        users: Arc::new(users::UserService::new(
            database.clone(),
            Arc::clone(&key_service),
            Arc::clone(&publisher),
        )),
        customers: Arc::new(customers::CustomerService::new(
            database.clone(),
            Arc::clone(&publisher),
        )),
        ui,
    };

    quota::spawn_budget_clock(
        db::budgets::Budgets::new(database.clone()),
        Arc::clone(&state.quota),
        cancel.clone(),
    );

    let (trigger_tx, trigger_rx) = mpsc::channel(1);
    let watch = config_watch::spawn(&opts.config, trigger_tx, cancel.clone())
        .with_context(|| format!("cannot watch {}", opts.config.display()))?;
    tokio::spawn(Arc::clone(&publisher).run(
        trigger_rx,
        Duration::from_millis(opts.coalesce_ms),
        cancel.clone(),
    ));

    let grpc_listener = grpc_port.listen()?;

    let tls = match (opts.tls_cert, opts.tls_key) {
        (Some(cert), Some(key)) => Some(grpc::Tls { cert, key }),
        _ => None,
    };
    let quota = Arc::new(quota::QuotaService::new(
        Arc::clone(&state.quota),
        db::budgets::Budgets::new(state.database.clone()),
        Arc::clone(&state.registry),
    ));
    let grpc_state = state.clone();
    let grpc_quota = Arc::clone(&quota);
    let token = opts.cluster_token.clone();
    let grpc_cancel = cancel.clone();
    let grpc_task = tokio::spawn(async move {
        let result = grpc::serve(grpc_listener, grpc_state, grpc_quota, &token, tls).await;
        if let Err(e) = &result {
            error!("gRPC server failed: {e}");
            grpc_cancel.cancel();
        }
        result.map_err(anyhow::Error::from)
    });
    http_port.activate(http::router(state));
    info!(grpc = %grpc_addr, http = %http_addr, "control plane listening");

    let mut tasks = vec![grpc_task, http_task];
    if let Some(leadership) = leadership {
        tasks.push(tokio::spawn(leadership.watch(cancel.clone())));
    }
    Ok(RunningControlPlane {
        grpc_addr,
        http_addr,
        master_key_source,
        quota,
        tasks,
        _watch: watch,
    })
}
