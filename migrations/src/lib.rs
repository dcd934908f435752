//! Forward-only schema migrations for the control plane's database
//! (PostgreSQL or SQLite), applied at control-plane start.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_config_versions;
mod m20261124_000002_data_planes;
mod m20261124_000003_spend_logs;
mod m20261124_000004_virtual_keys;
mod m20261124_000005_spend;
mod m20261124_000006_teams_users;
mod m20261124_000007_spend_aggregates;
mod m20261124_000008_key_budget_reset;
mod m20261202_000001_usage_hourly;

pub use m20261202_000001_usage_hourly::LATENCY_BUCKETS;
mod m20261202_000009_spend_log_trace;
mod m20261202_000010_usage_daily;
mod m20261202_000011_key_list_order;
mod m20261203_000012_usage_rank;
mod m20261203_000013_ui_sessions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_config_versions::Migration),
            Box::new(m20261124_000002_data_planes::Migration),
            Box::new(m20261124_000003_spend_logs::Migration),
            Box::new(m20261124_000004_virtual_keys::Migration),
            Box::new(m20261124_000005_spend::Migration),
            Box::new(m20261124_000006_teams_users::Migration),
            Box::new(m20261124_000007_spend_aggregates::Migration),
            Box::new(m20261124_000008_key_budget_reset::Migration),
            Box::new(m20261202_000001_usage_hourly::Migration),
            Box::new(m20261202_000009_spend_log_trace::Migration),
            Box::new(m20261202_000010_usage_daily::Migration),
            Box::new(m20261202_000011_key_list_order::Migration),
            Box::new(m20261203_000012_usage_rank::Migration),
            Box::new(m20261203_000013_ui_sessions::Migration),
        ]
    }
}
