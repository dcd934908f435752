//! A scriptable LLM provider mock for Tollgate's end-to-end tests and benchmarks.
//!
//! It speaks the providers' real wire protocols, records what it receives, and
//! injects failures on demand; see the crate's modules for each concern.

mod anthropic;
mod app;
mod azure;
mod base64;
mod bedrock;
mod cohere;
mod eventstream;
mod faults;
mod gemini;
mod markers;
mod ollama;
mod ollama_embed;
mod openai;
mod recorder;
mod reply;
mod sse;

use std::io::Write;
use std::sync::Arc;

use axum::serve::ListenerExt;
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "tollgate-mock-provider", version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (read it from the first stdout line).
    #[arg(long, default_value_t = 8190)]
    port: u16,
    /// Do not keep the request log, so benchmarks measure the gateway, not the mock.
    #[arg(long)]
    no_record: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();

    let listener = TcpListener::bind((cli.host.as_str(), cli.port)).await?;
    let address = listener.local_addr()?;
    // Test harnesses start the mock on port 0 and read this line to learn the port,
    // so it must be exactly one line and must not sit in a buffer.
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
    }

    let state = Arc::new(app::AppState::new(!cli.no_record));
    // Streams are many small writes; Nagle's algorithm would hold each one back
    // waiting for an ACK and distort chunk timing and latency measurements.
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app::router(state)).await
}
