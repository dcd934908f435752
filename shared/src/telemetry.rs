//! Log set-up shared by every binary, so they all read `RUST_LOG` the same
//! way and keep the noisy dependencies quiet by default.

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,h2=warn,hyper=warn,tower=warn,notify=warn";

/// Logs go to stderr (stdout is for what a user must read, such as the URL).
/// `TOLLGATE_LOG_FORMAT=json` switches to one JSON object per line.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = if std::env::var("TOLLGATE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests, the all-in-one launcher) keeps the first one.
    let _ = result;
}
