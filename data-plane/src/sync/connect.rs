//! How to reach the control plane: endpoint(s), TLS and the cluster token.
//!
//! `--control-plane` may name several control planes (comma-separated): an
//! active one and standbys that do not listen until they are elected
//! (`control-plane/src/leader.rs`). A connection tries the one that last
//! answered first, then the others in order, so streams follow the active
//! control plane; the lazy channel of request-driven calls (management,
//! spend, quota) is moved to whichever one a connection last reached.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::channel::Change;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::{Request, Status};
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid control-plane URL `{url}`: {source}")]
    Url {
        url: String,
        source: tonic::transport::Error,
    },
    #[error("cannot read CA certificate {path}: {source}")]
    Ca {
        path: String,
        source: std::io::Error,
    },
    #[error("no control-plane URL given")]
    NoUrl,
    #[error("the cluster token contains characters not allowed in gRPC metadata")]
    Token,
    #[error("cannot connect to the control plane: {}", tollgate_shared::error::display_chain(.0))]
    Transport(#[from] tonic::transport::Error),
    #[error("control plane: {}", .0.message())]
    Status(#[from] Status),
}

#[derive(Clone)]
pub struct Endpoint {
    endpoints: Arc<[tonic::transport::Endpoint]>,
    /// The control plane that last accepted a connection: tried first.
    active: Arc<AtomicUsize>,
    /// With several control planes, the lazy channel's target, kept on the
    /// active one (`None` with a single control plane: a plain lazy channel).
    follower: Option<Arc<Follower>>,
    token: MetadataValue<tonic::metadata::Ascii>,
}

/// A balanced channel with one endpoint at a time: the active control plane.
struct Follower {
    channel: Channel,
    targets: tokio::sync::mpsc::Sender<Change<usize, tonic::transport::Endpoint>>,
    /// Which endpoint the channel holds (`usize::MAX`: none yet).
    target: AtomicUsize,
}

impl Endpoint {
    /// `urls`: one control-plane URL, or several separated by commas.
    pub fn new(urls: &str, token: &str, ca: Option<&Path>) -> Result<Self, ConnectError> {
        let endpoints = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|url| one_endpoint(url, ca))
            .collect::<Result<Vec<_>, _>>()?;
        if endpoints.is_empty() {
            return Err(ConnectError::NoUrl);
        }
        let mut token: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|_| ConnectError::Token)?;
        token.set_sensitive(true);
        let follower = (endpoints.len() > 1).then(|| {
            let (channel, targets) = Channel::balance_channel(4);
            Arc::new(Follower {
                channel,
                targets,
                target: AtomicUsize::new(usize::MAX),
            })
        });
        let endpoint = Self {
            endpoints: endpoints.into(),
            active: Arc::new(AtomicUsize::new(0)),
            follower,
            token,
        };
        endpoint.follow(0);
        Ok(endpoint)
    }

    /// A channel that connects on first use and reconnects by itself: for
    /// request-driven calls (management routes) rather than streams. With
    /// several control planes it goes to the one last reached.
    pub fn connect_lazy(&self) -> Channel {
        match &self.follower {
            Some(follower) => follower.channel.clone(),
            None => self.endpoints[0].connect_lazy(),
        }
    }

    /// Connects to the control plane that last answered, else the first of
    /// the others that does; the lazy channel follows.
    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        let first = self.active.load(Ordering::Relaxed) % self.endpoints.len();
        let mut last_error = None;
        for offset in 0..self.endpoints.len() {
            let index = (first + offset) % self.endpoints.len();
            match self.endpoints[index].connect().await {
                Ok(channel) => {
                    if self.active.swap(index, Ordering::Relaxed) != index {
                        info!(control_plane = %self.endpoints[index].uri(), "following this control plane");
                    }
                    self.follow(index);
                    return Ok(channel);
                }
                Err(e) => last_error = Some(e),
            }
        }
        // At least one endpoint exists, so an error was recorded.
        Err(last_error.map_or(ConnectError::NoUrl, ConnectError::Transport))
    }

    /// Points the lazy channel at endpoint `index` (no-op if it is there).
    fn follow(&self, index: usize) {
        let Some(follower) = &self.follower else {
            return;
        };
        let previous = follower.target.swap(index, Ordering::Relaxed);
        if previous == index {
            return;
        }
        // Capacity 4 and one change in flight per move: a full queue means a
        // burst of moves, whose last one is what counts and will be sent.
        let _ = follower
            .targets
            .try_send(Change::Insert(index, self.endpoints[index].clone()));
        if previous != usize::MAX {
            let _ = follower.targets.try_send(Change::Remove(previous));
        }
    }

    pub fn auth(&self) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<> {
        let token = self.token.clone();
        move |mut request: Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
            Ok(request)
        }
    }
}

fn one_endpoint(url: &str, ca: Option<&Path>) -> Result<tonic::transport::Endpoint, ConnectError> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|source| ConnectError::Url {
            url: url.to_string(),
            source,
        })?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        // A control plane cut off by the network (no RST, just silence) is
        // noticed within ~4 s, so the streams reconnect, to the standby or
        // to the same one once the network heals, instead of waiting on TCP.
        .http2_keep_alive_interval(Duration::from_secs(2))
        .keep_alive_timeout(Duration::from_secs(2))
        .keep_alive_while_idle(true);
    if url.starts_with("https://") || ca.is_some() {
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if let Some(path) = ca {
            let pem = std::fs::read(path).map_err(|source| ConnectError::Ca {
                path: path.display().to_string(),
                source,
            })?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn several_control_planes_are_one_endpoint_each_and_an_empty_list_is_refused() {
        let one = Endpoint::new("http://127.0.0.1:1", "t", None).expect("one");
        assert_eq!(one.endpoints.len(), 1);
        assert!(
            one.follower.is_none(),
            "a single control plane keeps a plain channel"
        );
        let two =
            Endpoint::new(" http://127.0.0.1:1 , http://127.0.0.1:2,", "t", None).expect("two");
        assert_eq!(two.endpoints.len(), 2);
        assert!(two.follower.is_some());
        assert!(matches!(
            Endpoint::new(" , ", "t", None),
            Err(ConnectError::NoUrl)
        ));
        assert!(matches!(
            Endpoint::new("http://127.0.0.1:1,not a url", "t", None),
            Err(ConnectError::Url { .. })
        ));
    }

    #[tokio::test]
    async fn a_connection_goes_to_the_control_plane_that_listens_and_stays_with_it() {
        // The first address refuses (nothing listens); the second accepts.
        let refused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let refused_addr = refused.local_addr().expect("addr");
        drop(refused);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            // Accept and hold connections: enough for a channel to connect.
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let endpoint = Endpoint::new(&format!("http://{refused_addr},http://{addr}"), "t", None)
            .expect("endpoint");
        endpoint.connect().await.expect("connects to the second");
        assert_eq!(endpoint.active.load(Ordering::Relaxed), 1);
        let follower = endpoint.follower.as_ref().expect("follower");
        assert_eq!(
            follower.target.load(Ordering::Relaxed),
            1,
            "the lazy channel follows"
        );
        // Next time the one that answered is tried first.
        endpoint.connect().await.expect("again");
        assert_eq!(endpoint.active.load(Ordering::Relaxed), 1);
    }
}
