//! One active control plane per PostgreSQL database; the others stand by.
//!
//! Every control plane on PostgreSQL takes a session-level advisory lock on
//! a connection of its own before it migrates, publishes or listens. The one
//! holding it is active; the others poll for it every
//! [`STANDBY_POLL`] and accept no gRPC connection meanwhile (ports.rs), so
//! data planes given every address (`--control-plane a,b`) connect to the
//! active one only.
//!
//! PostgreSQL frees the lock when the holder's session ends: at once when
//! its process dies (the socket closes), within [`SERVER_KEEPALIVE`] when
//! its host vanishes (server-side TCP keepalives set on the session). A
//! standby then takes over within one poll. The active one checks the lock
//! every [`CHECK_EVERY`]: if its session was replaced (PostgreSQL restarted)
//! it takes the lock again unless another control plane has it; if another
//! has it, or it cannot confirm for [`STEP_DOWN_AFTER`] (shorter than the
//! keepalive detection, so two never act at once), it stops: the process
//! exits and its supervisor restarts it as a standby.
//!
//! Nothing else needs fencing: versions come from `config_versions`'
//! sequence (monotonic whoever writes), and usage ingest is idempotent by
//! request id, so a batch replayed to the new leader is stored once.
//!
//! SQLite has one writer by construction: no election.

use anyhow::Context as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// The advisory lock's key: "tollgate" in ASCII.
const LOCK_KEY: i64 = 0x746f_6c6c_6761_7465;
pub const STANDBY_POLL: Duration = Duration::from_millis(500);
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Idle 4 s, then 2 probes 1 s apart: a vanished holder's session ends
/// within about 6 s.
const SERVER_KEEPALIVE: &str =
    "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 2";
/// Below the keepalive detection above (≈ 6 s): the old leader has stopped
/// before PostgreSQL can hand the lock to a standby.
pub const STEP_DOWN_AFTER: Duration = Duration::from_secs(5);

/// The held lock. Dropping it ends the session and frees the lock.
pub struct Leadership {
    db: DatabaseConnection,
}

/// Waits until this control plane holds the lock. `None` if cancelled
/// first (shut down while standing by). `standing_by` runs once, when
/// another control plane is found active.
pub async fn acquire(
    url: &str,
    cancel: &CancellationToken,
    standing_by: impl FnOnce(),
) -> anyhow::Result<Option<Leadership>> {
    let mut standing_by = Some(standing_by);
    // One connection polls (reconnected only after an error): a standby
    // costs PostgreSQL one idle session, not a connection per poll.
    let mut candidate: Option<Leadership> = None;
    loop {
        if candidate.is_none() {
            match connect(url).await {
                Ok(db) => candidate = Some(Leadership { db }),
                Err(e) => warn!("standby: cannot reach the database for the leader lock: {e:#}"),
            }
        }
        if let Some(leadership) = candidate.take() {
            match leadership.try_lock().await {
                Ok(true) => {
                    info!("active: this control plane holds the leader lock");
                    return Ok(Some(leadership));
                }
                Ok(false) => {
                    if let Some(standing_by) = standing_by.take() {
                        info!("standby: another control plane is active; waiting for its lock");
                        standing_by();
                    }
                    candidate = Some(leadership);
                }
                Err(e) => warn!("standby: leader-lock check failed: {e:#}"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(None),
            _ = tokio::time::sleep(STANDBY_POLL) => {}
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    // One connection that lives as long as the process: the lock is its
    // session's.
    options
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .context("cannot connect for the leader lock")
}

impl Leadership {
    /// Holds (or takes) the lock on the current session: true if ours.
    async fn try_lock(&self) -> anyhow::Result<bool> {
        self.db.execute_unprepared(SERVER_KEEPALIVE).await?;
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT pg_try_advisory_lock($1) AS held",
                [LOCK_KEY.into()],
            ))
            .await?
            .context("pg_try_advisory_lock returned no row")?;
        Ok(row.try_get::<bool>("", "held")?)
    }

    /// Keeps checking the lock; returns (an error) once it is lost, after
    /// cancelling `cancel` so the whole control plane stops. Returns Ok when
    /// cancelled for another reason.
    pub async fn watch(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut confirmed = Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
            // pg_try_advisory_lock is reentrant: on our own session it
            // succeeds again; on a new session (the old one was cut) it
            // takes the lock back unless another control plane took it.
            let lost = match tokio::time::timeout(CHECK_EVERY, self.try_lock()).await {
                Ok(Ok(true)) => {
                    confirmed = Instant::now();
                    None
                }
                Ok(Ok(false)) => Some("another control plane holds the leader lock".to_string()),
                Ok(Err(e)) if confirmed.elapsed() >= STEP_DOWN_AFTER => {
                    Some(format!("cannot confirm the leader lock: {e:#}"))
                }
                Err(_) if confirmed.elapsed() >= STEP_DOWN_AFTER => {
                    Some("the leader-lock check timed out".to_string())
                }
                Ok(Err(e)) => {
                    warn!("cannot confirm the leader lock (still active): {e:#}");
                    None
                }
                Err(_) => None,
            };
            if let Some(why) = lost {
                error!("stepping down: {why}");
                cancel.cancel();
                anyhow::bail!("lost the leadership: {why}");
            }
        }
    }
}
