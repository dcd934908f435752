//! The gRPC client of `QuotaService`, with a deadline: a request waiting on
//! it must not wait long, and an unreachable control plane means falling
//! back to fair shares, not hanging.
//!
//! Over gRPC, exchanges are batched (`batch.rs`): a budget with a
//! `max_budget` asks the control plane on every request, so under load many
//! requests ask at once; they share calls instead of making one each. In
//! one process (`transport.rs`) each exchange is its own call: there is no
//! wire to amortise, and a queue would only add task hops to every request.

use super::batch::Batcher;
use super::transport::{GrpcQuota, InProcessQuota};
use crate::sync::connect::Endpoint;
use std::sync::Arc;
use std::time::Duration;
use tollgate_proto::v1::{MeterUpdate, QuotaRequest, QuotaResponse};

/// How long a request waits for its exchange, queueing included.
pub(super) const DEADLINE: Duration = Duration::from_millis(800);

/// `exchange` bounded by `DEADLINE`, a late answer being a timeout.
pub(super) async fn within_deadline<T, E>(
    exchange: impl Future<Output = Result<T, E>>,
) -> Result<T, ExchangeError>
where
    ExchangeError: From<E>,
{
    match tokio::time::timeout(DEADLINE, exchange).await {
        Ok(result) => result.map_err(ExchangeError::from),
        Err(_) => Err(ExchangeError::Timeout),
    }
}

#[derive(Clone)]
pub struct QuotaClient {
    /// `None` in tests of the limiter alone.
    path: Option<Path>,
}

#[derive(Clone)]
enum Path {
    Batched(Batcher),
    Direct {
        service: InProcessQuota,
        node_id: Arc<str>,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    #[error("no control plane is configured")]
    Disabled,
    #[error("the control plane did not answer within {DEADLINE:?}")]
    Timeout,
    #[error("control plane: {0}")]
    Status(#[from] tonic::Status),
    #[error("the control plane answered {grants} grants for {meters} meters")]
    Mismatched { grants: usize, meters: usize },
}

impl QuotaClient {
    /// Must be called inside the tokio runtime: the batcher is a task.
    /// With `in_process`, exchanges call that service instead of `endpoint`.
    pub fn new(endpoint: &Endpoint, in_process: Option<InProcessQuota>, node_id: String) -> Self {
        let path = match in_process {
            Some(service) => Path::Direct {
                service,
                node_id: node_id.into(),
            },
            None => Path::Batched(Batcher::start(GrpcQuota::new(endpoint), node_id)),
        };
        Self { path: Some(path) }
    }

    /// For tests of the limiter alone: every exchange fails as if the
    /// control plane were down.
    pub fn disabled() -> Self {
        Self { path: None }
    }

    /// One exchange of `meters`, answered with one grant per update in the
    /// same order.
    pub async fn exchange(&self, meters: Vec<MeterUpdate>) -> Result<QuotaResponse, ExchangeError> {
        match &self.path {
            None => Err(ExchangeError::Disabled),
            Some(Path::Batched(batcher)) => within_deadline(batcher.exchange(meters)).await,
            Some(Path::Direct { service, node_id }) => {
                let request = QuotaRequest {
                    node_id: node_id.to_string(),
                    meters,
                };
                service.call(request).await
            }
        }
    }
}
