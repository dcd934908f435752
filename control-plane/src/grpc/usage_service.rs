//! Usage ingest: each batch is stored in one transaction, then acknowledged.
//! A data plane resends unacknowledged batches after a reconnect; the
//! `request_id` primary key makes the replay harmless.

use crate::db::entities::spend_log::ActiveModel;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::Set;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tollgate_proto::v1::usage_reporting_server::UsageReporting;
use tollgate_proto::v1::{RequestStatus, UsageAck, UsageBatch, UsageRecord};
use tonic::{Request, Response, Status, Streaming};
use tracing::{error, warn};

pub struct UsageService {
    state: AppState,
}

impl UsageService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type Acks = Pin<Box<dyn Stream<Item = Result<UsageAck, Status>> + Send>>;

#[tonic::async_trait]
impl UsageReporting for UsageService {
    type ReportUsageStream = Acks;

    async fn report_usage(
        &self,
        request: Request<Streaming<UsageBatch>>,
    ) -> Result<Response<Self::ReportUsageStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let spend_logs = self.state.spend_logs.clone();
        let cancel = self.state.cancel.clone();
        tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = cancel.cancelled() => return,
                    m = inbound.message() => match m {
                        Ok(Some(batch)) => batch,
                        Ok(None) | Err(_) => return,
                    },
                };
                let received_at = Utc::now();
                let rows: Vec<ActiveModel> = batch
                    .records
                    .iter()
                    .filter_map(|r| to_row(&batch.node_id, r, received_at))
                    .collect();
                match spend_logs.insert_batch(rows).await {
                    Ok(stored) => {
                        let ack = UsageAck {
                            batch_id: batch.batch_id,
                            stored: u32::try_from(stored).unwrap_or(u32::MAX),
                        };
                        if tx.send(Ok(ack)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // No ack: the data plane keeps the batch and retries
                        // on its next stream.
                        error!(batch = batch.batch_id, "cannot store usage batch: {e}");
                        let _ = tx
                            .send(Err(Status::unavailable("usage storage unavailable; retry")))
                            .await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

fn millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

fn to_row(node_id: &str, r: &UsageRecord, received_at: DateTime<Utc>) -> Option<ActiveModel> {
    if r.request_id.is_empty() {
        warn!(node_id, "usage record without request_id dropped");
        return None;
    }
    let start = millis(r.start_time_ms).unwrap_or(received_at);
    let end = millis(r.end_time_ms).unwrap_or(received_at);
    let prompt = i64::try_from(r.prompt_tokens).unwrap_or(i64::MAX);
    let completion = i64::try_from(r.completion_tokens).unwrap_or(i64::MAX);
    let status = match RequestStatus::try_from(r.status) {
        Ok(RequestStatus::Success) => "success",
        _ => "failure",
    };
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(ActiveModel {
        request_id: Set(r.request_id.clone()),
        node_id: Set(node_id.to_string()),
        call_type: Set(r.call_type.clone()),
        api_key: Set(r.key_hash.clone()),
        model_group: Set(r.model_group.clone()),
        model_id: Set(r.deployment_id.clone()),
        provider: Set(r.provider.clone()),
        api_base: Set(r.api_base.clone()),
        prompt_tokens: Set(prompt),
        completion_tokens: Set(completion),
        total_tokens: Set(prompt.saturating_add(completion)),
        status: Set(status.to_string()),
        error_type: Set(non_empty(&r.error_type)),
        http_status: Set(i32::try_from(r.http_status).unwrap_or(0)),
        start_time: Set(start),
        end_time: Set(end),
        completion_start_time: Set((r.first_token_time_ms > 0)
            .then(|| millis(r.first_token_time_ms))
            .flatten()),
        stream: Set(r.stream),
        end_user: Set(non_empty(&r.end_user)),
        received_at: Set(received_at),
        spend: Set(tollgate_shared::pricing::to_usd(r.cost_picos)),
        spend_picos: Set(i64::try_from(r.cost_picos).unwrap_or(i64::MAX)),
        cost_known: Set(r.cost_known),
    })
}
