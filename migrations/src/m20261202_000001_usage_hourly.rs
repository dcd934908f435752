//! `usage_hourly`: what the dashboard charts, kept by usage ingest so no
//! page view scans the spend log. One row per UTC hour per dimension value
//! (the whole proxy, a model group, a key, a team, a user, an end user, a
//! provider): requests, errors, spend, tokens, and a fixed log-scale
//! latency histogram (`lat_00`…`lat_35`, bucket i holding requests whose
//! total latency in ms lies in [2^(i/2), 2^((i+1)/2)), the last one open)
//! so percentiles over any range are sums of rows — on PostgreSQL and
//! SQLite alike (SQLite has no `percentile_cont`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// How many latency buckets each row holds (see the module comment).
pub const LATENCY_BUCKETS: usize = 36;

#[derive(DeriveIden)]
enum UsageHourly {
    Table,
    Hour,
    Dim,
    DimId,
    Requests,
    Errors,
    SpendPicos,
    PromptTokens,
    CompletionTokens,
    CachedTokens,
    LatencyMsSum,
    OverheadUsSum,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(UsageHourly::Table)
            .if_not_exists()
            // "YYYY-MM-DDTHH", UTC: sorts as text on both backends.
            .col(ColumnDef::new(UsageHourly::Hour).string().not_null())
            .col(ColumnDef::new(UsageHourly::Dim).string().not_null())
            .col(ColumnDef::new(UsageHourly::DimId).string().not_null());
        for column in [
            UsageHourly::Requests,
            UsageHourly::Errors,
            UsageHourly::SpendPicos,
            UsageHourly::PromptTokens,
            UsageHourly::CompletionTokens,
            UsageHourly::CachedTokens,
            UsageHourly::LatencyMsSum,
            UsageHourly::OverheadUsSum,
        ] {
            table.col(ColumnDef::new(column).big_integer().not_null().default(0));
        }
        for i in 0..LATENCY_BUCKETS {
            table.col(
                ColumnDef::new(Alias::new(format!("lat_{i:02}")))
                    .big_integer()
                    .not_null()
                    .default(0),
            );
        }
        table.primary_key(
            Index::create()
                .col(UsageHourly::Dim)
                .col(UsageHourly::Hour)
                .col(UsageHourly::DimId),
        );
        manager.create_table(table.to_owned()).await?;
        // Top-N over a range groups by dimension value within (dim, hour).
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_usage_hourly_dim_id_hour")
                    .table(UsageHourly::Table)
                    .col(UsageHourly::Dim)
                    .col(UsageHourly::DimId)
                    .col(UsageHourly::Hour)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageHourly::Table).to_owned())
            .await
    }
}
