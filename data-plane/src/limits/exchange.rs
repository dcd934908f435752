//! The gRPC client of `QuotaService`, with a deadline: a request waiting on
//! it must not wait long, and an unreachable control plane means falling
//! back to fair shares, not hanging.
//!
//! Exchanges are batched (`batch.rs`): a budget with a `max_budget` asks the
//! control plane on every request, so under load many requests ask at once;
//! they share calls instead of making one each.

use super::batch::Batcher;
use super::transport::{InProcessQuota, Transport};
use crate::sync::connect::Endpoint;
use std::time::Duration;
use tollgate_proto::v1::{MeterUpdate, QuotaResponse};

/// How long a request waits for its exchange, queueing included.
pub(super) const DEADLINE: Duration = Duration::from_millis(800);

#[derive(Clone)]
pub struct QuotaClient {
    /// `None` in tests of the limiter alone.
    batcher: Option<Batcher>,
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
        let transport = match in_process {
            Some(service) => Transport::InProcess(service),
            None => Transport::grpc(endpoint),
        };
        Self {
            batcher: Some(Batcher::start(transport, node_id)),
        }
    }

    /// For tests of the limiter alone: every exchange fails as if the
    /// control plane were down.
    pub fn disabled() -> Self {
        Self { batcher: None }
    }

    /// One exchange of `meters`, answered with one grant per update in the
    /// same order.
    pub async fn exchange(&self, meters: Vec<MeterUpdate>) -> Result<QuotaResponse, ExchangeError> {
        let Some(batcher) = &self.batcher else {
            return Err(ExchangeError::Disabled);
        };
        match tokio::time::timeout(DEADLINE, batcher.exchange(meters)).await {
            Ok(result) => result,
            Err(_) => Err(ExchangeError::Timeout),
        }
    }
}
