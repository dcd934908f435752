//! Command-line and environment options of the control plane.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// LiteLLM-format config file (`litellm_config.yaml`), watched for changes.
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: PathBuf,

    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) URL. Defaults to
    /// `general_settings.database_url`, then SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where the embedded SQLite database lives.
    #[arg(long, env = "TOLLGATE_DATA_DIR", default_value = ".tollgate")]
    pub data_dir: PathBuf,

    /// gRPC: snapshot distribution, usage ingest and the admin service.
    #[arg(long, env = "TOLLGATE_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,

    /// HTTP: status API (and, later, the dashboard).
    #[arg(
        long,
        env = "TOLLGATE_CP_HTTP_LISTEN",
        default_value = "127.0.0.1:4001"
    )]
    pub http_listen: SocketAddr,

    /// Shared secret data planes present on every gRPC call.
    #[arg(long, env = "TOLLGATE_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: String,

    /// PEM certificate for gRPC TLS (with --tls-key). Plaintext without.
    #[arg(long, env = "TOLLGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for gRPC TLS.
    #[arg(long, env = "TOLLGATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Quiet period after a change before a snapshot is built, so a burst of
    /// edits yields one version.
    #[arg(long, env = "TOLLGATE_COALESCE_MS", default_value_t = 50)]
    pub coalesce_ms: u64,

    /// How long a management write (key, team, user, customer) waits for
    /// every connected data plane to apply it before answering (`500ms`,
    /// `3s`). A node that takes longer does not hang the call: the answer
    /// says how many applied (`x-tollgate-applied: 2/3`).
    #[arg(long, env = "TOLLGATE_APPLY_WAIT", default_value = "3s", value_parser = parse_wait)]
    pub apply_wait: std::time::Duration,
}

fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0 && *n * scale <= 3600.0)
        .map(|n| std::time::Duration::from_secs_f64(n * scale))
        .ok_or_else(|| {
            format!("`{text}` is not a wait: use seconds (`3`, `3s`) or `500ms`, at most an hour")
        })
}
