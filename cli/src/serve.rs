//! `tollgate` (no subcommand): the whole gateway in one command, on the
//! embedded default.
//!
//! Runs a control plane (SQLite in the data directory) and one data plane in
//! this process, talking over real gRPC on loopback with a fresh cluster
//! token, exactly as separate binaries would. Production runs the
//! `tollgate-control-plane` and `tollgate-data-plane` binaries instead.

use anyhow::Context as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use tollgate_control_plane::MasterKeySource;

/// Runs the gateway (the default command).
#[derive(clap::Args)]
pub struct ServeArgs {
    /// LiteLLM-format config file.
    #[arg(long, short, env = "TOLLGATE_CONFIG")]
    pub config: PathBuf,
    /// Port of the OpenAI-compatible API.
    #[arg(long, short, default_value_t = 4000)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    pub host: IpAddr,
    /// Embedded database and saved snapshot.
    #[arg(long, env = "TOLLGATE_DATA_DIR", default_value = ".tollgate")]
    pub data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Admin gRPC address (`tollgate keys …` talks to it). Loopback only.
    #[arg(long, env = "TOLLGATE_GRPC_PORT", default_value_t = 50051)]
    pub grpc_port: u16,
}

pub async fn run(cli: ServeArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let loopback = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let cluster_token = hex::encode(rand::random::<[u8; 32]>());
    let control_plane = tollgate_control_plane::start(
        tollgate_control_plane::Options {
            config: cli.config.clone(),
            database_url: cli.database_url,
            data_dir: cli.data_dir.clone(),
            grpc_listen: loopback(cli.grpc_port),
            http_listen: loopback(0),
            cluster_token: cluster_token.clone(),
            tls_cert: None,
            tls_key: None,
            coalesce_ms: 50,
            apply_wait: std::time::Duration::from_secs(3),
        },
        cancel.clone(),
    )
    .await?;
    let data_plane = tollgate_data_plane::start(
        tollgate_data_plane::Options {
            listen: SocketAddr::new(cli.host, cli.port),
            port: None,
            control_plane: format!("http://{}", control_plane.grpc_addr),
            cluster_token,
            node_id: Some("local".into()),
            state_dir: cli.data_dir.join("data-plane"),
            tls_ca: None,
            heartbeat_secs: 5,
            usage_buffer_records: 20_000,
            drain_delay: std::time::Duration::ZERO,
            // Both planes share this process: a request's quota exchange
            // calls the control plane's service instead of going over
            // loopback gRPC.
            in_process_quota: Some(tollgate_data_plane::limits::InProcessQuota::new(
                control_plane.quota_service(),
            )),
        },
        cancel.clone(),
    )
    .await?;

    let shown_host = if cli.host.is_unspecified() {
        "localhost".to_string()
    } else {
        cli.host.to_string()
    };
    let auth = match &control_plane.master_key_source {
        MasterKeySource::Config => "the master key from general_settings.master_key".to_string(),
        MasterKeySource::Environment => "the master key from LITELLM_MASTER_KEY".to_string(),
        MasterKeySource::Generated(key) => {
            format!("{key} (generated for this run: set general_settings.master_key to keep one)")
        }
    };
    // stdout is for the person who ran the command.
    #[allow(clippy::print_stdout)]
    {
        println!(
            "Tollgate is running on http://{shown_host}:{}",
            data_plane.addr.port()
        );
        println!(
            "  OpenAI base URL:  http://{shown_host}:{}/v1",
            data_plane.addr.port()
        );
        println!("  Authenticate with `Authorization: Bearer <key>` using {auth}");
        println!(
            "  Status API:       http://{}/api/status",
            control_plane.http_addr
        );
        println!(
            "  Config:           {} (edits apply without a restart)",
            cli.config.display()
        );
    }

    let (dp, cp) = tokio::join!(data_plane.wait(), control_plane.wait());
    dp.context("data plane")?;
    cp.context("control plane")?;
    Ok(())
}
