//! Usage ingest: each batch is stored in one transaction (logs, daily
//! aggregates, running totals), then acknowledged. A data plane resends
//! unacknowledged batches after a reconnect; the `request_id` primary key
//! makes the replay harmless.

use crate::db::entities::spend_log::Model;
use crate::spend::IngestWriter;
use crate::spend::ingest::Pending;
use crate::state::AppState;
use chrono::{DateTime, Utc};
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
    writer: IngestWriter,
}

impl UsageService {
    /// Starts the ingest writer: one for every stream of this server.
    pub fn new(state: AppState) -> Self {
        let writer = IngestWriter::spawn(state.spend_logs.clone(), state.cancel.clone());
        Self { state, writer }
    }
}

/// Batches of one stream stored concurrently (merged by the writer).
const IN_FLIGHT_PER_STREAM: usize = 16;

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
        // Batches already handed to the writer, in arrival order, waiting
        // for their transaction; bounded so one stream cannot queue
        // unboundedly ahead of the database.
        let (queued_tx, mut queued) = mpsc::channel::<(u64, Pending)>(IN_FLIGHT_PER_STREAM);
        let writer = self.writer.clone();
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
                let rows: Vec<Model> = batch
                    .records
                    .iter()
                    .filter_map(|r| to_row(&batch.node_id, r, received_at))
                    .collect();
                let Ok(pending) = writer.submit(rows).await else {
                    return;
                };
                if queued_tx.send((batch.batch_id, pending)).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            // Acks go out in the order the batches arrived.
            while let Some((batch_id, pending)) = queued.recv().await {
                match pending.await {
                    Ok(Ok(stored)) => {
                        let ack = UsageAck {
                            batch_id,
                            stored: u32::try_from(stored).unwrap_or(u32::MAX),
                        };
                        if tx.send(Ok(ack)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) => {
                        // No ack: the data plane keeps the batch and retries
                        // on its next stream.
                        error!(batch = batch_id, "cannot store usage batch: {e}");
                        let _ = tx
                            .send(Err(Status::unavailable("usage storage unavailable; retry")))
                            .await;
                        return;
                    }
                    // The writer stopped (shutdown): no ack, the data plane
                    // resends to the next control plane.
                    Err(_) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

fn millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

fn to_row(node_id: &str, r: &UsageRecord, received_at: DateTime<Utc>) -> Option<Model> {
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
    // Stored as given when it is a JSON object; anything else is not
    // LiteLLM's `metadata` and is dropped rather than stored unparseable.
    let metadata = (!r.metadata_json.is_empty())
        .then(|| serde_json::from_str::<serde_json::Value>(&r.metadata_json).ok())
        .flatten()
        .filter(serde_json::Value::is_object)
        .map(|v| v.to_string());
    let spend_picos = i64::try_from(r.cost_picos).unwrap_or(i64::MAX);
    Some(Model {
        request_id: r.request_id.clone(),
        node_id: node_id.to_string(),
        call_type: r.call_type.clone(),
        api_key: r.key_hash.clone(),
        model_group: r.model_group.clone(),
        model_id: r.deployment_id.clone(),
        provider: r.provider.clone(),
        api_base: r.api_base.clone(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        status: status.to_string(),
        error_type: non_empty(&r.error_type),
        http_status: i32::try_from(r.http_status).unwrap_or(0),
        start_time: start,
        end_time: end,
        completion_start_time: (r.first_token_time_ms > 0)
            .then(|| millis(r.first_token_time_ms))
            .flatten(),
        stream: r.stream,
        end_user: non_empty(&r.end_user),
        received_at,
        spend: tollgate_shared::pricing::to_usd(r.cost_picos),
        spend_picos,
        cost_known: r.cost_known,
        key_alias: non_empty(&r.key_alias),
        team_id: non_empty(&r.team_id),
        user_id: non_empty(&r.user_id),
        cached_tokens: i64::try_from(r.cached_tokens).unwrap_or(i64::MAX),
        retries: i32::try_from(r.retries).unwrap_or(i32::MAX),
        fallbacks: i32::try_from(r.fallbacks).unwrap_or(i32::MAX),
        tags: serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".to_string()),
        metadata,
        overhead_us: i64::try_from(r.overhead_us).unwrap_or(i64::MAX),
        usage_source: r.usage_source.clone(),
        trace_id: non_empty(&r.trace_id),
        span_id: non_empty(&r.span_id),
    })
}
