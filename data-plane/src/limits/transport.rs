//! How a node's quota exchanges reach the control plane: a gRPC call over
//! the network, or — in the one-process gateway (`tollgate`), where both
//! planes share one address space — a direct call of the control plane's
//! `QuotaService`.
//!
//! A budget with a `max_budget` asks the control plane on every request, so
//! over gRPC each admission pays an encode, an HTTP/2 round trip over
//! loopback TCP and a decode on both sides: +0.17 ms of a request at c=1
//! (docs/PERFORMANCE.md). In one process the service is an object the data
//! plane can call; the answer is the same, minus the wire.

use super::exchange::{ExchangeError, within_deadline};
use crate::sync::connect::Endpoint;
use std::fmt;
use std::sync::Arc;
use tollgate_proto::v1::quota_service_client::QuotaServiceClient;
use tollgate_proto::v1::quota_service_server::QuotaService as QuotaApi;
use tollgate_proto::v1::{QuotaRequest, QuotaResponse};
use tonic::transport::Channel;

/// The control plane's own `QuotaService`, handed to a data plane running in
/// the same process. Cluster authentication is the gRPC server's job; a
/// caller holding this object is already inside the trust boundary.
#[derive(Clone)]
pub struct InProcessQuota(Arc<dyn QuotaApi>);

impl InProcessQuota {
    pub fn new(service: Arc<dyn QuotaApi>) -> Self {
        Self(service)
    }

    /// One exchange, bounded by the deadline like a gRPC one: the service
    /// can wait on the control plane's database (a budget's first spend).
    pub(super) async fn call(&self, request: QuotaRequest) -> Result<QuotaResponse, ExchangeError> {
        within_deadline(self.0.exchange(tonic::Request::new(request)))
            .await
            .map(tonic::Response::into_inner)
    }
}

impl fmt::Debug for InProcessQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcessQuota")
    }
}

/// `QuotaService` over the network, with the cluster token.
pub(super) struct GrpcQuota {
    endpoint: Endpoint,
    channel: Channel,
}

impl GrpcQuota {
    pub(super) fn new(endpoint: &Endpoint) -> Self {
        Self {
            endpoint: endpoint.clone(),
            channel: endpoint.connect_lazy(),
        }
    }

    pub(super) async fn call(&self, request: QuotaRequest) -> Result<QuotaResponse, ExchangeError> {
        // A client is a channel handle plus the token: cheap to make.
        let mut client =
            QuotaServiceClient::with_interceptor(self.channel.clone(), self.endpoint.auth());
        within_deadline(client.exchange(request))
            .await
            .map(tonic::Response::into_inner)
    }
}
