//! `tollgate`: runs the gateway, or administers one.
//!
//! - `tollgate --config litellm_config.yaml --port 4000` runs control plane
//!   and data plane in one process (see [`serve`]).
//! - `tollgate keys …` and `tollgate status` call a control plane's gRPC
//!   AdminService with the master key (see [`admin`]).

mod admin;
mod keys;
mod serve;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing::error;

/// Tollgate LLM gateway.
#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Option<serve::ServeArgs>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage virtual keys.
    Keys(Box<keys::KeysArgs>),
    /// Snapshot version and what each data plane applied.
    Status(admin::Connection),
}

#[tokio::main]
async fn main() -> ExitCode {
    tollgate_shared::telemetry::init();
    let cli = Cli::parse();
    let is_admin_command = cli.command.is_some();
    let result = match (cli.command, cli.serve) {
        (Some(Command::Keys(args)), _) => keys::run(*args).await,
        (Some(Command::Status(connection)), _) => admin::status(connection).await,
        (None, Some(serve)) => {
            let cancel = CancellationToken::new();
            let on_signal = cancel.clone();
            tokio::spawn(async move {
                tollgate_shared::shutdown::signal().await;
                on_signal.cancel();
            });
            serve::run(serve, cancel).await
        }
        (None, None) => Err(anyhow::anyhow!(
            "pass --config (to run the gateway) or a subcommand; see --help"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_admin_command => {
            // A person (or script) reads this: one plain line on stderr.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(e) => {
            error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
