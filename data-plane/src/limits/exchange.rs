//! The gRPC client of `QuotaService`, with a deadline: a request waiting on
//! it must not wait long, and an unreachable control plane means falling
//! back to fair shares, not hanging.

use crate::sync::connect::Endpoint;
use std::time::Duration;
use tollgate_proto::v1::quota_service_client::QuotaServiceClient;
use tollgate_proto::v1::{MeterUpdate, QuotaRequest, QuotaResponse};
use tonic::transport::Channel;

const DEADLINE: Duration = Duration::from_millis(800);

#[derive(Clone)]
pub struct QuotaClient {
    /// `None` in tests of the limiter alone.
    remote: Option<(Endpoint, Channel)>,
    node_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("no control plane is configured")]
    Disabled,
    #[error("the control plane did not answer within {DEADLINE:?}")]
    Timeout,
    #[error("control plane: {0}")]
    Status(#[from] tonic::Status),
}

impl QuotaClient {
    pub fn new(endpoint: &Endpoint, node_id: String) -> Self {
        Self {
            remote: Some((endpoint.clone(), endpoint.connect_lazy())),
            node_id,
        }
    }

    /// For tests of the limiter alone: every exchange fails as if the
    /// control plane were down.
    pub fn disabled() -> Self {
        Self {
            remote: None,
            node_id: String::new(),
        }
    }

    pub async fn exchange(&self, meters: Vec<MeterUpdate>) -> Result<QuotaResponse, ExchangeError> {
        let Some((endpoint, channel)) = &self.remote else {
            return Err(ExchangeError::Disabled);
        };
        // A client is a channel handle plus the token: cheap to make.
        let mut client = QuotaServiceClient::with_interceptor(channel.clone(), endpoint.auth());
        let request = QuotaRequest {
            node_id: self.node_id.clone(),
            meters,
        };
        match tokio::time::timeout(DEADLINE, client.exchange(request)).await {
            Ok(result) => Ok(result?.into_inner()),
            Err(_) => Err(ExchangeError::Timeout),
        }
    }
}
