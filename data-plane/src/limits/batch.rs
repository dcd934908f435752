//! Concurrent quota exchanges of one node, merged into shared calls.
//!
//! A budget with a `max_budget` is decided by the control plane for every
//! request (`limiter.rs` says why), so at 64 concurrent requests there are
//! 64 exchanges in flight, each a gRPC call the data plane encodes and the
//! control plane decodes, authenticates and answers under its coordinator's
//! lock. Here at most `MAX_CALLS` calls are out at once; requests that ask
//! while they are out queue, and the next call carries all of them. An idle
//! node's request still leaves at once, so this adds no latency where there
//! is nothing to merge.
//!
//! One call's meters are the callers' updates laid end to end; the control
//! plane applies them in order and answers one grant per update in the same
//! order (a meter may appear more than once: each request reserves alone),
//! so each caller gets back the grants for its own updates.

use super::exchange::ExchangeError;
use super::transport::GrpcQuota;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tollgate_proto::v1::{MeterUpdate, QuotaRequest, QuotaResponse};

/// Calls out at once. Two lets a call leave while the previous one is being
/// answered; more would only make smaller batches.
const MAX_CALLS: usize = 2;
/// Meter updates per call, so one call stays a modest message.
const MAX_METERS: usize = 4_096;

type Reply = oneshot::Sender<Result<QuotaResponse, ExchangeError>>;

struct Asked {
    meters: Vec<MeterUpdate>,
    reply: Reply,
}

/// The handle requests ask through; the task behind it ends when the last
/// handle is dropped.
#[derive(Clone)]
pub(super) struct Batcher {
    queue: mpsc::UnboundedSender<Asked>,
}

impl Batcher {
    pub(super) fn start(transport: GrpcQuota, node_id: String) -> Self {
        let (queue, asked) = mpsc::unbounded_channel();
        let caller = Caller { transport, node_id };
        tokio::spawn(merge(asked, Arc::new(caller)));
        Self { queue }
    }

    pub(super) async fn exchange(
        &self,
        meters: Vec<MeterUpdate>,
    ) -> Result<QuotaResponse, ExchangeError> {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Asked { meters, reply }).is_err() {
            return Err(ExchangeError::Disabled);
        }
        // A dropped reply means the call's task was cancelled (the runtime
        // is shutting down): no answer is coming.
        answer.await.unwrap_or(Err(ExchangeError::Timeout))
    }
}

struct Caller {
    transport: GrpcQuota,
    node_id: String,
}

/// Takes what has queued, waits for a free call, then sends everything that
/// queued meanwhile as one call.
async fn merge(mut asked: mpsc::UnboundedReceiver<Asked>, caller: Arc<Caller>) {
    let calls = Arc::new(Semaphore::new(MAX_CALLS));
    while let Some(first) = asked.recv().await {
        let Ok(call) = Arc::clone(&calls).acquire_owned().await else {
            return;
        };
        let mut meters = first.meters.len();
        let mut batch = vec![first];
        while meters < MAX_METERS {
            match asked.try_recv() {
                Ok(next) => {
                    meters += next.meters.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let caller = Arc::clone(&caller);
        tokio::spawn(async move {
            caller.send(batch).await;
            drop(call);
        });
    }
}

impl Caller {
    async fn send(&self, batch: Vec<Asked>) {
        let mut lengths = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut meters = Vec::with_capacity(batch.iter().map(|a| a.meters.len()).sum());
        for a in batch {
            lengths.push(a.meters.len());
            meters.extend(a.meters);
            replies.push(a.reply);
        }
        let total = meters.len();
        match self.call(meters).await {
            Ok(response) if response.grants.len() == total => {
                let fleet_size = response.fleet_size;
                let mut grants = response.grants.into_iter();
                for (reply, n) in replies.into_iter().zip(lengths) {
                    let grants = grants.by_ref().take(n).collect();
                    // A caller that gave up (its deadline passed) is gone.
                    let _ = reply.send(Ok(QuotaResponse { grants, fleet_size }));
                }
            }
            Ok(response) => {
                let e = ExchangeError::Mismatched {
                    grants: response.grants.len(),
                    meters: total,
                };
                answer_all(replies, &e);
            }
            Err(e) => answer_all(replies, &e),
        }
    }

    async fn call(&self, meters: Vec<MeterUpdate>) -> Result<QuotaResponse, ExchangeError> {
        let request = QuotaRequest {
            node_id: self.node_id.clone(),
            meters,
        };
        self.transport.call(request).await
    }
}

fn answer_all(replies: Vec<Reply>, e: &ExchangeError) {
    for reply in replies {
        let _ = reply.send(Err(e.clone()));
    }
}
