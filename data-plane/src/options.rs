//! Command-line and environment options of the data plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Address of the OpenAI-compatible API.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "0.0.0.0:4000")]
    pub listen: SocketAddr,

    /// Shorthand for `--listen 0.0.0.0:PORT` (LiteLLM's `--port`).
    #[arg(long)]
    pub port: Option<u16>,

    /// The control plane's gRPC URL (`https://` when it serves TLS).
    #[arg(
        long,
        env = "TOLLGATE_CONTROL_PLANE",
        default_value = "http://127.0.0.1:50051"
    )]
    pub control_plane: String,

    /// Shared secret the control plane expects.
    #[arg(long, env = "TOLLGATE_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: String,

    /// This node's name in the control plane's status; generated once and
    /// kept in the state directory when not given.
    #[arg(long, env = "TOLLGATE_NODE_ID")]
    pub node_id: Option<String>,

    /// Where the last applied snapshot is kept for restarts without a
    /// control plane. Readable by this user only: it holds provider keys.
    #[arg(
        long,
        env = "TOLLGATE_STATE_DIR",
        default_value = ".tollgate/data-plane"
    )]
    pub state_dir: PathBuf,

    /// CA certificate (PEM) to trust for a TLS control plane.
    #[arg(long, env = "TOLLGATE_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// Seconds between heartbeats to the control plane.
    #[arg(long, env = "TOLLGATE_HEARTBEAT_SECS", default_value_t = 5)]
    pub heartbeat_secs: u64,

    /// Usage records kept in memory while the control plane has not
    /// acknowledged them (≈ 1.5 KiB each); past this they are spilled to the
    /// state directory.
    #[arg(long, env = "TOLLGATE_USAGE_BUFFER_RECORDS", default_value_t = 20_000)]
    pub usage_buffer_records: usize,
}

impl Options {
    pub fn listen_addr(&self) -> SocketAddr {
        match self.port {
            Some(port) => SocketAddr::new(self.listen.ip(), port),
            None => self.listen,
        }
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs.max(1))
    }
}
