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

    /// After SIGTERM, how long readiness answers 503 while requests are
    /// still accepted (`3s`, `500ms`), so a load balancer's health check or
    /// Kubernetes' endpoint update takes the node out before it stops
    /// accepting; then in-flight requests drain. 0 stops accepting at once.
    #[arg(long, env = "TOLLGATE_DRAIN_DELAY", default_value = "0s", value_parser = parse_delay)]
    pub drain_delay: Duration,

    /// The control plane's quota service when it runs in this process (the
    /// one-process gateway): exchanges call it directly instead of over
    /// gRPC. Not a flag: only a program embedding both planes has one.
    #[arg(skip)]
    pub in_process_quota: Option<crate::limits::InProcessQuota>,
}

fn parse_delay(text: &str) -> Result<Duration, String> {
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
        .filter(|n| n.is_finite() && *n >= 0.0 && *n * scale <= 600.0)
        .map(|n| Duration::from_secs_f64(n * scale))
        .ok_or_else(|| {
            format!("`{text}` is not a delay: use seconds (`3`, `3s`) or `500ms`, at most 600 s")
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_delays_read_as_seconds_or_milliseconds() {
        assert_eq!(parse_delay("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_delay("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_delay("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_delay("0s"), Ok(Duration::ZERO));
        assert!(parse_delay("-1s").is_err());
        assert!(parse_delay("soon").is_err());
        assert!(parse_delay("601s").is_err());
    }
}
