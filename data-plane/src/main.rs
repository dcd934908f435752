use clap::Parser;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tollgate_data_plane::{Options, start};
use tracing::error;

/// mimalloc instead of glibc's malloc: the request path makes ~150 small
/// allocations, and with it the one-process gateway served 35 % more
/// requests per second and the split data plane 25 % more (docs/PERFORMANCE.md,
/// which also has what it costs in resident memory).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tollgate data plane: the OpenAI-compatible API, served from the last snapshot.
#[derive(Parser)]
#[command(name = "tollgate-data-plane", version)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    tollgate_telemetry::init(tollgate_telemetry::Service::DataPlane);
    let cli = Cli::parse();
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        tollgate_shared::shutdown::signal().await;
        on_signal.cancel();
    });
    let result = match start(cli.options, cancel).await {
        Ok(running) => running.wait().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
