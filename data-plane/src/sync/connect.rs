//! One way to reach the control plane: endpoint, TLS and the cluster token.

use std::path::Path;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::{Request, Status};

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
    #[error("the cluster token contains characters not allowed in gRPC metadata")]
    Token,
    #[error("cannot connect to the control plane: {}", tollgate_shared::error::display_chain(.0))]
    Transport(#[from] tonic::transport::Error),
    #[error("control plane: {}", .0.message())]
    Status(#[from] Status),
}

#[derive(Clone)]
pub struct Endpoint {
    endpoint: tonic::transport::Endpoint,
    token: MetadataValue<tonic::metadata::Ascii>,
}

impl Endpoint {
    pub fn new(url: &str, token: &str, ca: Option<&Path>) -> Result<Self, ConnectError> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|source| ConnectError::Url {
                url: url.to_string(),
                source,
            })?
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(20))
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
        let mut token: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|_| ConnectError::Token)?;
        token.set_sensitive(true);
        Ok(Self { endpoint, token })
    }

    /// A channel that connects on first use and reconnects by itself: for
    /// request-driven calls (management routes) rather than streams.
    pub fn connect_lazy(&self) -> Channel {
        self.endpoint.connect_lazy()
    }

    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        Ok(self.endpoint.connect().await?)
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
