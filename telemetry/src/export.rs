//! The trace pipeline: one `SdkTracerProvider` per process whose processor
//! hands finished spans to a bounded queue; a Tokio task batches them to
//! the OTLP exporter. A full queue drops the span and counts it — a request
//! never waits on tracing.

use crate::config::{self, Protocol};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("OpenTelemetry export needs a Tokio runtime")]
    NoRuntime,
}

/// Set once tracing is enabled; read by the layer's filter.
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

/// Spans dropped because the export queue was full, since start.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Whether spans are being exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

enum Message {
    Span(Box<SpanData>),
    Flush(oneshot::Sender<()>),
}

/// What the processor feeds; the receiver is taken by [`enable`].
struct Pipeline {
    provider: SdkTracerProvider,
    queue: mpsc::Sender<Message>,
    pending: Mutex<Option<mpsc::Receiver<Message>>>,
    resource: Arc<Mutex<Option<Resource>>>,
    batch: usize,
    delay: Duration,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The provider the tracing layer uses; built once, dormant until enabled.
pub(crate) fn provider(service: crate::Service) -> SdkTracerProvider {
    let pipeline = PIPELINE.get_or_init(|| {
        // OpenTelemetry's BSP variables and defaults.
        let capacity = env_number("OTEL_BSP_MAX_QUEUE_SIZE", 2048) as usize;
        let batch = env_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512) as usize;
        let delay = Duration::from_millis(env_number("OTEL_BSP_SCHEDULE_DELAY", 5000));
        let (queue, pending) = mpsc::channel(capacity);
        let resource = Arc::new(Mutex::new(None));
        let processor = QueueProcessor {
            queue: queue.clone(),
            resource: Arc::clone(&resource),
        };
        let mut builder = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            builder = builder.with_service_name(service.default_name());
        }
        // The sampler comes from OTEL_TRACES_SAMPLER / _ARG (default
        // parentbased_always_on: the caller's sampled flag decides); the
        // HTTP layer asks it first (`sampling.rs`).
        let provider = SdkTracerProvider::builder()
            .with_sampler(crate::sampling::sampler())
            .with_id_generator(crate::sampling::PresetIds::default())
            .with_span_processor(processor)
            .with_resource(builder.build())
            .build();
        Pipeline {
            provider,
            queue,
            pending: Mutex::new(Some(pending)),
            resource,
            batch: batch.max(1),
            delay,
        }
    });
    pipeline.provider.clone()
}

/// Starts exporting: builds the OTLP exporter from the `OTEL_EXPORTER_OTLP_*`
/// variables and spawns the batching task. `instance` becomes
/// `service.instance.id` (the data plane's node id). Idempotent.
pub fn enable(instance: Option<&str>) -> Result<(), TelemetryError> {
    let Some(pipeline) = PIPELINE.get() else {
        return Ok(());
    };
    let Some(receiver) = pipeline.pending.lock().ok().and_then(|mut p| p.take()) else {
        return Ok(()); // already enabled
    };
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| TelemetryError::NoRuntime)?;
    let mut exporter = build_exporter()?;
    let resource = pipeline
        .resource
        .lock()
        .ok()
        .and_then(|r| r.clone())
        .unwrap_or_else(|| Resource::builder().build());
    let resource = match instance {
        Some(id) => Resource::builder_empty()
            .with_attributes(
                resource
                    .iter()
                    .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone())),
            )
            .with_attribute(opentelemetry::KeyValue::new(
                "service.instance.id",
                id.to_string(),
            ))
            .build(),
        None => resource,
    };
    exporter.set_resource(&resource);
    runtime.spawn(run_exporter(
        exporter,
        receiver,
        pipeline.batch,
        pipeline.delay,
    ));
    ENABLED.store(true, Ordering::Relaxed);
    // Callsites cached as disabled are asked again.
    tracing::callsite::rebuild_interest_cache();
    tracing::info!(
        endpoint = config::endpoint().as_deref().unwrap_or("(default)"),
        protocol = ?config::protocol(),
        "OpenTelemetry trace export on"
    );
    Ok(())
}

fn build_exporter() -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
    let endpoint = config::endpoint();
    let headers = config::headers();
    let built = match config::protocol() {
        Protocol::Grpc => {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (k, v) in &headers {
                if let (Ok(k), Ok(v)) = (
                    tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
                    v.parse(),
                ) {
                    metadata.insert(k, v);
                }
            }
            let mut b = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_metadata(metadata);
            if let Some(e) = endpoint {
                b = b.with_endpoint(e);
            }
            b.build()
        }
        Protocol::HttpProtobuf => {
            let mut b = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_headers(headers.into_iter().collect());
            if let Some(e) = endpoint {
                // The base endpoint gets the signal path, as the spec says
                // for OTEL_EXPORTER_OTLP_ENDPOINT.
                let traces = if std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
                    || e.ends_with("/v1/traces")
                {
                    e
                } else {
                    format!("{}/v1/traces", e.trim_end_matches('/'))
                };
                b = b.with_endpoint(traces);
            }
            b.build()
        }
    };
    built.map_err(|e| TelemetryError::Exporter(e.to_string()))
}

async fn run_exporter(
    exporter: opentelemetry_otlp::SpanExporter,
    mut receiver: mpsc::Receiver<Message>,
    batch_size: usize,
    delay: Duration,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(batch_size);
    let mut tick = tokio::time::interval(delay);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Span(span)) => {
                    batch.push(*span);
                    if batch.len() >= batch_size {
                        export(&exporter, &mut batch).await;
                    }
                }
                Some(Message::Flush(done)) => {
                    // Whatever queued before the flush request is in `batch`.
                    export(&exporter, &mut batch).await;
                    let _ = done.send(());
                }
                None => {
                    export(&exporter, &mut batch).await;
                    return;
                }
            },
            _ = tick.tick() => export(&exporter, &mut batch).await,
        }
    }
}

async fn export(exporter: &opentelemetry_otlp::SpanExporter, batch: &mut Vec<SpanData>) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let count = spans.len();
    // The exporter bounds itself (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s default).
    if let Err(e) = exporter.export(spans).await {
        DROPPED.fetch_add(count as u64, Ordering::Relaxed);
        tracing::debug!("OTLP export of {count} spans failed: {e}");
    }
}

/// Flushes what is queued (bounded by `timeout`): called at shutdown,
/// after the HTTP drain, so the last requests' spans leave.
pub async fn shutdown(timeout: Duration) {
    let Some(pipeline) = PIPELINE.get() else {
        return;
    };
    if !enabled() {
        return;
    }
    let (done, wait) = oneshot::channel();
    let queued = pipeline.queue.send(Message::Flush(done));
    let _ = tokio::time::timeout(timeout, async {
        if queued.await.is_ok() {
            let _ = wait.await;
        }
    })
    .await;
}

#[derive(Debug)]
struct QueueProcessor {
    queue: mpsc::Sender<Message>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.queue.try_send(Message::Span(Box::new(span))).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Ok(mut slot) = self.resource.lock() {
            *slot = Some(resource.clone());
        }
    }
}
