//! The gRPC server: snapshot distribution and usage ingest (cluster-token
//! authenticated), the admin service (master-key authenticated), health and
//! reflection.

mod admin_access;
mod admin_service;
mod auth;
mod config_service;
mod spend_service;
mod usage_service;

pub use admin_access::Principal;
pub(crate) use admin_access::principal;
pub(crate) use admin_service::AdminService;

use crate::state::AppState;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tollgate_proto::v1::admin_service_server::AdminServiceServer;
use tollgate_proto::v1::config_distribution_server::ConfigDistributionServer;
use tollgate_proto::v1::quota_service_server::QuotaServiceServer;
use tollgate_proto::v1::spend_service_server::SpendServiceServer;
use tollgate_proto::v1::ui_service_server::UiServiceServer;
use tollgate_proto::v1::usage_reporting_server::UsageReportingServer;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot read TLS material {path}: {source}")]
    TlsFile {
        path: String,
        source: std::io::Error,
    },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    quota: std::sync::Arc<crate::quota::QuotaService>,
    cluster_token: &str,
    tls: Option<Tls>,
) -> Result<(), GrpcError> {
    let auth = auth::ClusterAuth::new(cluster_token);
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tollgate_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // grpcurl and grpcui builds before 2024 speak only v1alpha.
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tollgate_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ConfigDistributionServer<config_service::ConfigService>>()
        .await;

    let mut builder = Server::builder()
        .trace_fn(call_span)
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)));
    if let Some(tls) = tls {
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|source| GrpcError::TlsFile {
                path: p.display().to_string(),
                source,
            })
        };
        let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    let cancel = state.cancel.clone();
    builder
        .add_service(
            // Snapshots carry every virtual key: far past tonic's 4 MiB.
            tonic::service::interceptor::InterceptedService::new(
                ConfigDistributionServer::new(config_service::ConfigService::new(state.clone()))
                    .max_encoding_message_size(512 * 1024 * 1024),
                auth.clone(),
            ),
        )
        .add_service(UsageReportingServer::with_interceptor(
            usage_service::UsageService::new(state.clone()),
            auth.clone(),
        ))
        .add_service(tonic::service::interceptor::InterceptedService::new(
            QuotaServiceServer::from_arc(quota),
            auth.clone(),
        ))
        .add_service(UiServiceServer::with_interceptor(
            crate::ui::tunnel::Tunnel::new(state.clone()),
            auth,
        ))
        .add_service(SpendServiceServer::new(spend_service::SpendService::new(
            state.clone(),
        )))
        .add_service(AdminServiceServer::new(admin_service::AdminService::new(
            state,
        )))
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(nodelay(listener), cancel.cancelled_owned())
        .await?;
    Ok(())
}

/// Accepted connections with Nagle's algorithm off. tonic's own
/// `tcp_nodelay` (on by default) is ignored for an incoming stream, and with
/// it off a response written in two parts waits for the peer's delayed ACK:
/// 40 ms for a quota exchange carrying a batch of requests, measured.
fn nodelay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|tcp| {
            // Best effort, as for the data plane's listener: a socket that
            // refuses the option still serves.
            let _ = tcp.set_nodelay(true);
        })
    })
}

/// A SERVER span per management call (`tollgate.admin.v1.AdminService/GenerateKey`),
/// continuing the caller's `traceparent` (the data plane's management
/// route, the CLI). The long-lived streams (config, usage, quota) get none:
/// a span per stream would last for days.
fn call_span(request: &axum::http::Request<()>) -> tracing::Span {
    let path = request.uri().path();
    let Some(method) = path.strip_prefix('/') else {
        return tracing::Span::none();
    };
    let Some((service, rpc)) = method.split_once('/') else {
        return tracing::Span::none();
    };
    if !(service.ends_with("AdminService") || service.ends_with("SpendService")) {
        return tracing::Span::none();
    }
    metrics::counter!("tollgate_admin_calls_total", "rpc" => rpc_label(rpc)).increment(1);
    let span = tracing::info_span!(
        "grpc_call",
        otel.name = method,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = rpc,
    );
    tollgate_telemetry::propagation::continue_from(&span, request.headers());
    span
}

/// The RPC name when it is one of ours (the label stays bounded whatever
/// path a client sends).
fn rpc_label(rpc: &str) -> String {
    if rpc.len() <= 64 && rpc.bytes().all(|b| b.is_ascii_alphanumeric()) {
        rpc.to_string()
    } else {
        "other".to_string()
    }
}
