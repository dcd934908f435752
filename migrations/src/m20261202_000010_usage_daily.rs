//! `usage_daily`: `usage_hourly` summed per UTC day, kept by ingest in the
//! same transaction. Why: a 30-day view over the hourly table sums up to
//! 720 rows per dimension value (a million rows for the key dimension at
//! 100,000 keys); day rows cut that 24-fold for whole days, and ranges read
//! hourly rows only for their partial edge days. Filled here from the
//! hourly rows already stored, so the two agree from the start.
//!
//! `usage_monthly`: the same per UTC calendar month, indexed on spend, so
//! the Overview's month-to-date top lists are an index range, not a sum.
//!
//! Also an index on `spend_logs (key_alias, start_time)`: the log page
//! filters by alias when it has no key hash.

use super::m20261202_000001_usage_hourly::LATENCY_BUCKETS;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendLogs {
    Table,
    KeyAlias,
    StartTime,
}

const METRICS: [&str; 8] = [
    "requests",
    "errors",
    "spend_picos",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "latency_ms_sum",
    "overhead_us_sum",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_daily(manager).await?;
        create_monthly(manager).await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_spend_logs_key_alias_start_time")
                    .table(SpendLogs::Table)
                    .col(SpendLogs::KeyAlias)
                    .col(SpendLogs::StartTime)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["usage_monthly", "usage_daily"] {
            manager
                .drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn summed() -> Vec<String> {
    METRICS
        .iter()
        .map(|m| (*m).to_string())
        .chain((0..LATENCY_BUCKETS).map(|i| format!("lat_{i:02}")))
        .collect()
}

/// Fills `table` from the hourly rows already stored, its time column the
/// first `len` characters of the hour.
async fn backfill(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    len: usize,
) -> Result<(), DbErr> {
    let columns = summed();
    let sums: Vec<String> = columns.iter().map(|c| format!("SUM({c})")).collect();
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "INSERT INTO {table} (dim, {column}, dim_id, {}) \
             SELECT dim, substr(hour, 1, {len}), dim_id, {} FROM usage_hourly \
             GROUP BY dim, substr(hour, 1, {len}), dim_id",
            columns.join(", "),
            sums.join(", ")
        ))
        .await
        .map(|_| ())
}

/// A rollup table: its time column (the first `time_len` characters of the
/// hour, "YYYY-MM-DD" or "YYYY-MM", UTC: sorts as text on both backends),
/// `dim`, `dim_id` and every summed column, keyed on (`dim`, time,
/// `dim_id`), plus `index` on (`dim`, its two columns), then filled from
/// the hourly rows already stored.
async fn create_rollup(
    manager: &SchemaManager<'_>,
    name: &str,
    (time_column, time_len): (&str, usize),
    index: (&str, [&str; 2]),
) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table(Alias::new(name))
        .if_not_exists()
        .col(ColumnDef::new(Alias::new(time_column)).string().not_null())
        .col(ColumnDef::new(Alias::new("dim")).string().not_null())
        .col(ColumnDef::new(Alias::new("dim_id")).string().not_null());
    for column in summed() {
        table.col(
            ColumnDef::new(Alias::new(column))
                .big_integer()
                .not_null()
                .default(0),
        );
    }
    table.primary_key(
        Index::create()
            .col(Alias::new("dim"))
            .col(Alias::new(time_column))
            .col(Alias::new("dim_id")),
    );
    manager.create_table(table.to_owned()).await?;
    let (index_name, [first, second]) = index;
    manager
        .create_index(
            Index::create()
                .if_not_exists()
                .name(index_name)
                .table(Alias::new(name))
                .col(Alias::new("dim"))
                .col(Alias::new(first))
                .col(Alias::new(second))
                .to_owned(),
        )
        .await?;
    backfill(manager, name, time_column, time_len).await
}

async fn create_daily(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // A value's days in a range: (dim, dim_id, day).
    create_rollup(
        manager,
        "usage_daily",
        ("day", 10),
        ("idx_usage_daily_dim_id_day", ["dim_id", "day"]),
    )
    .await
}

async fn create_monthly(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Top-N of a month: ORDER BY spend_picos DESC LIMIT n walks this.
    create_rollup(
        manager,
        "usage_monthly",
        ("month", 7),
        (
            "idx_usage_monthly_dim_month_spend",
            ["month", "spend_picos"],
        ),
    )
    .await
}
