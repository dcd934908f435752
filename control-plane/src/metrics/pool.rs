//! The database pool's gauges (OpenTelemetry's database client metric
//! names in Prometheus form), read from SeaORM's sqlx pool at scrape.

use sea_orm::{DatabaseBackend, DatabaseConnection};

/// `db_client_connection_count{db_client_connection_state="used"|"idle"}`
/// and `db_client_connection_max`, for PostgreSQL or SQLite.
pub fn refresh(db: &DatabaseConnection) {
    let (system, size, idle, max) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                "postgresql",
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                "sqlite",
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        // Not a backend the control plane opens (db::connect).
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    let labels = |state: &'static str| {
        [
            ("db_client_connection_pool_name", "tollgate"),
            ("db_client_connection_state", state),
            ("db_system_name", system),
        ]
    };
    metrics::gauge!("db_client_connection_count", &labels("used")).set(f64::from(size - idle));
    metrics::gauge!("db_client_connection_count", &labels("idle")).set(f64::from(idle));
    metrics::gauge!(
        "db_client_connection_max",
        "db_client_connection_pool_name" => "tollgate",
        "db_system_name" => system,
    )
    .set(f64::from(max));
}
