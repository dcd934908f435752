use clap::Parser;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tollgate_control_plane::{MasterKeySource, Options, start};
use tracing::{error, warn};

/// mimalloc instead of glibc's malloc: the request path makes ~150 small
/// allocations, and with it the one-process gateway served 35 % more
/// requests per second on the side-by-side benchmark (docs/PERFORMANCE.md,
/// which also has what it costs in resident memory).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tollgate control plane: config, database, snapshot distribution, usage ingest.
#[derive(Parser)]
#[command(name = "tollgate-control-plane", version)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    tollgate_telemetry::init(tollgate_telemetry::Service::ControlPlane);
    let cli = Cli::parse();
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        tollgate_shared::shutdown::signal().await;
        on_signal.cancel();
    });
    let result = match start(cli.options, cancel).await {
        Ok(running) => {
            if let MasterKeySource::Generated(key) = &running.master_key_source {
                warn!(
                    "no master key configured (general_settings.master_key or LITELLM_MASTER_KEY); generated one for this run: {key}"
                );
            }
            running.wait().await
        }
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
