use clap::Parser;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tollgate_control_plane::{MasterKeySource, Options, start};
use tracing::{error, warn};

// glibc's malloc, not the data plane's mimalloc: the control plane is off
// the request path, and under ingest mimalloc kept 95 MiB resident where
// glibc keeps 34 MiB, for the same throughput (docs/PERFORMANCE.md).

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
