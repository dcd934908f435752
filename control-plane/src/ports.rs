//! The control plane's two ports, taken before the leader election.
//!
//! Both are bound at start, so a standby owns its addresses from its first
//! second (nothing else on the host can take them while it waits) and a
//! port already in use fails the start at once, not at election.
//!
//! - The gRPC port is bound but not listening until elected: a data plane
//!   given every control plane's address is refused by the standby (no
//!   backlog accepts it) and connects to the active one, and a Kubernetes
//!   `tcpSocket` readiness probe on it is Ready on the leader only.
//! - The HTTP port listens at once. Before election it answers
//!   `/health/liveliness` 200 (the process is alive: Docker's `HEALTHCHECK`
//!   and liveness probes keep it) and `/health` 503 `starting` or
//!   `standby`; everything else is a 503 saying which control plane to use. Once elected the
//!   full router ([`crate::http`]) answers on the same socket.

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::net::{TcpListener, TcpSocket};
use tower::ServiceExt as _;

/// The gRPC port, bound and not yet listening.
pub struct GrpcPort {
    socket: TcpSocket,
    pub addr: SocketAddr,
}

impl GrpcPort {
    pub fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let bind = || -> std::io::Result<(TcpSocket, SocketAddr)> {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            // As TcpListener::bind does: a restart may rebind while the old
            // process's connections sit in TIME_WAIT.
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            let bound = socket.local_addr()?;
            Ok((socket, bound))
        };
        let (socket, addr) = bind().with_context(|| format!("cannot listen for gRPC on {addr}"))?;
        Ok(Self { socket, addr })
    }

    /// Starts accepting: called once this control plane is the active one.
    pub fn listen(self) -> anyhow::Result<TcpListener> {
        self.socket
            .listen(1024)
            .with_context(|| format!("cannot listen for gRPC on {}", self.addr))
    }
}

/// What the HTTP port serves: the standby answers until [`HttpPort::activate`].
#[derive(Clone, Default)]
pub struct HttpPort {
    active: Arc<OnceLock<Router>>,
    /// Another control plane holds the lock (else still starting).
    standby: Arc<AtomicBool>,
}

impl HttpPort {
    /// The leader election found another control plane active.
    pub fn standing_by(&self) {
        self.standby.store(true, Ordering::Relaxed);
    }

    /// From now on every request goes to `router`.
    pub fn activate(&self, router: Router) {
        // Set once per process: a second call would be a start-up bug, and
        // the first router stays.
        let _ = self.active.set(router);
    }

    /// The service to serve on the listener: dispatches per request, so the
    /// socket and its connections outlive the switch.
    pub fn router(&self) -> Router {
        let active = Arc::clone(&self.active);
        let standby = standby_router(Arc::clone(&self.standby));
        Router::new().fallback_service(tower::service_fn(move |request: Request| {
            let router = active.get().cloned().unwrap_or_else(|| standby.clone());
            async move { router.oneshot(request).await }
        }))
    }
}

fn standby_router(standby: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/health/liveliness", get(|| async { "alive" }))
        .route("/health", get(standby_health))
        .fallback(standby_refusal)
        .with_state(standby)
}

async fn standby_health(State(standby): State<Arc<AtomicBool>>) -> Response {
    let body = if standby.load(Ordering::Relaxed) {
        json!({
            "status": "standby",
            "detail": "Another control plane holds the leader lock; this one takes over when it stops.",
        })
    } else {
        json!({
            "status": "starting",
            "detail": "Loading the config, migrating and publishing the first snapshot.",
        })
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn standby_refusal(State(standby): State<Arc<AtomicBool>>) -> Response {
    let message = if standby.load(Ordering::Relaxed) {
        "This control plane is the standby: another one holds the leader lock and serves the status API, \
         the admin API and the dashboard. Use the active control plane (its /health answers 200), \
         or the data planes' /ui."
    } else {
        "This control plane is starting (config, migrations, first snapshot); retry in a few seconds."
    };
    let envelope = tollgate_shared::error::ErrorEnvelope::new(message, "service_unavailable", 503);
    (StatusCode::SERVICE_UNAVAILABLE, Json(envelope)).into_response()
}
