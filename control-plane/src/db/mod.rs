//! The database: PostgreSQL in production, SQLite as the embedded default.
//! Migrations run at start; the rest of the crate goes through the
//! repositories in this module, never raw connections.

pub mod budget_alerts;
pub mod budgets;
mod config_versions;
mod customers;
mod data_planes;
pub mod entities;
pub mod log_page;
mod spend_bulk;
pub mod spend_daily;
mod spend_logs;
pub mod spend_names;
mod spend_sqlite;
mod spend_totals;
mod team_members;
mod teams;
pub mod ui_sessions;
pub mod usage_hourly;
mod users;
mod virtual_keys;

pub use config_versions::ConfigVersions;
pub use customers::{CustomerRow, Customers};
pub use data_planes::{DataPlaneRow, DataPlanes};
pub use spend_logs::{LogFilter, SpendLogs, SummaryRow};
pub use team_members::{TeamMemberRow, TeamMembers};
pub use teams::{TeamRow, Teams};
pub use users::{UserRow, Users};
pub use virtual_keys::{Direction, KeyFilter, ListPosition, VirtualKeyRow, VirtualKeys};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use std::path::Path;
use std::time::Duration;
use tollgate_migrations::Migrator;
use tollgate_migrations::MigratorTrait;

/// Where the database is, decided once at start.
pub fn resolve_url(explicit: Option<&str>, from_config: Option<&str>, data_dir: &Path) -> String {
    explicit
        .or(from_config)
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("tollgate.db").display()
            )
        })
}

/// The URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub async fn connect(url: &str, pool_limit: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_string());
    options
        // SQLite allows one writer; a single connection turns lock errors
        // into queueing.
        .max_connections(if sqlite { 1 } else { pool_limit.unwrap_or(10) })
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if sqlite {
        // WAL: a commit is one append and one fsync instead of a rollback
        // journal written, synced and deleted. `synchronous=FULL` keeps every
        // acknowledged usage batch on disk. WAL mode persists in the file.
        db.execute_unprepared(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
        )
        .await?;
    }
    Migrator::up(&db, None).await?;
    Ok(db)
}
