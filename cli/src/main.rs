//! `tollgate`: runs the gateway, or administers one.
//!
//! - `tollgate --config litellm_config.yaml --port 4000` runs control plane
//!   and data plane in one process (see [`serve`]).
//! - `tollgate keys|teams|users|customers …` and `tollgate status` call a control plane's gRPC
//!   AdminService with the master key (see [`admin`]).

mod admin;
mod customers;
mod keys;
mod serve;
mod spend;
mod table;
mod teams;
mod users;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing::error;

/// mimalloc instead of glibc's malloc: the request path makes ~150 small
/// allocations, and with it the one-process gateway served 35 % more
/// requests per second and the split data plane 25 % more (docs/PERFORMANCE.md,
/// which also has what it costs in resident memory).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Manage teams and their members.
    Teams(Box<teams::TeamsArgs>),
    /// Manage internal users.
    Users(Box<users::UsersArgs>),
    /// Manage end users (customers).
    Customers(Box<customers::CustomersArgs>),
    /// Spend logs and reports (LiteLLM's /spend/logs, /global/spend/*).
    Spend(Box<spend::SpendArgs>),
}

#[tokio::main]
async fn main() -> ExitCode {
    tollgate_telemetry::init(tollgate_telemetry::Service::AllInOne);
    let cli = Cli::parse();
    let is_admin_command = cli.command.is_some();
    let result = match (cli.command, cli.serve) {
        (Some(Command::Keys(args)), _) => keys::run(*args).await,
        (Some(Command::Status(connection)), _) => admin::status(connection).await,
        (Some(Command::Teams(args)), _) => teams::run(*args).await,
        (Some(Command::Users(args)), _) => users::run(*args).await,
        (Some(Command::Customers(args)), _) => customers::run(*args).await,
        (Some(Command::Spend(args)), _) => spend::run(*args).await,
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
