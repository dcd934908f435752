//! `usage_rank_daily` and `usage_rank_monthly`: the day and month rollups
//! cut to what a top list ranks on (`spend_picos`, `requests`), kept by
//! ingest in the same transaction as the full rows. Why: ranking 30 or 7
//! days by key sums 200,000 rows per view at 100,000 keys, and with every
//! metric and latency bucket a rollup row is about 450 bytes, so the
//! ranking read mostly pages (the full rows' heap is far larger than a
//! default `shared_buffers`). Rows of about 100 bytes halve that read; the
//! full rows are then read for the chosen values only. Filled here from the
//! full rows already stored, so the two agree from the start.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (rank table, full table, time column).
const TABLES: [(&str, &str, &str); 2] = [
    ("usage_rank_daily", "usage_daily", "day"),
    ("usage_rank_monthly", "usage_monthly", "month"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (rank, full, time) in TABLES {
            let mut table = Table::create();
            table
                .table(Alias::new(rank))
                .if_not_exists()
                .col(ColumnDef::new(Alias::new("dim")).string().not_null())
                .col(ColumnDef::new(Alias::new(time)).string().not_null())
                .col(ColumnDef::new(Alias::new("dim_id")).string().not_null());
            for c in ["spend_picos", "requests"] {
                table.col(
                    ColumnDef::new(Alias::new(c))
                        .big_integer()
                        .not_null()
                        .default(0),
                );
            }
            table.primary_key(
                Index::create()
                    .col(Alias::new("dim"))
                    .col(Alias::new(time))
                    .col(Alias::new("dim_id")),
            );
            manager.create_table(table.to_owned()).await?;
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "INSERT INTO {rank} (dim, {time}, dim_id, spend_picos, requests) \
                     SELECT dim, {time}, dim_id, spend_picos, requests FROM {full}"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (rank, _, _) in TABLES {
            manager
                .drop_table(Table::drop().table(Alias::new(rank)).to_owned())
                .await?;
        }
        Ok(())
    }
}
