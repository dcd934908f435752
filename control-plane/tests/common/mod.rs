//! Databases for the integration tests: a fresh SQLite file, or a fresh
//! PostgreSQL database on the local server (trust auth).

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tollgate_control_plane::db;

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated SQLite database in a temporary directory (kept while the
/// directory lives).
#[allow(dead_code)] // not every test file uses both backends
pub async fn sqlite() -> (DatabaseConnection, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    (db::connect(&url, None).await.expect("sqlite"), dir)
}

/// The database `name`, dropped and created again, migrated, with a pool
/// of `pool` connections.
pub async fn postgres(name: &str, pool: u32) -> DatabaseConnection {
    let admin = sea_orm::Database::connect(PG_ADMIN)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (trust auth) is required");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    db::connect(
        &format!("postgres://postgres@127.0.0.1:5432/{name}"),
        Some(pool),
    )
    .await
    .expect("postgres")
}
