//! The rest of a usage record in the spend log (who, cache, retries, tags,
//! metadata, overhead), and `spend_daily`: spend per day per key, team,
//! user, end user, model group and in total, upserted by each ingested batch
//! so reports never scan the log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendLogs {
    Table,
    KeyAlias,
    TeamId,
    UserId,
    CachedTokens,
    Retries,
    Fallbacks,
    Tags,
    Metadata,
    OverheadUs,
    UsageSource,
    StartTime,
}

#[derive(DeriveIden)]
enum SpendDaily {
    Table,
    Day,
    EntityKind,
    EntityId,
    ApiKey,
    ModelGroup,
    SpendPicos,
    PromptTokens,
    CompletionTokens,
    Requests,
    SuccessfulRequests,
    FailedRequests,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut column in [
            ColumnDef::new(SpendLogs::KeyAlias)
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(SpendLogs::TeamId).string().null().to_owned(),
            ColumnDef::new(SpendLogs::UserId).string().null().to_owned(),
            ColumnDef::new(SpendLogs::CachedTokens)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(SpendLogs::Retries)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(SpendLogs::Fallbacks)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            // A JSON array of strings.
            ColumnDef::new(SpendLogs::Tags)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
            ColumnDef::new(SpendLogs::Metadata).text().null().to_owned(),
            ColumnDef::new(SpendLogs::OverheadUs)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(SpendLogs::UsageSource)
                .string()
                .not_null()
                .default("")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SpendLogs::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // `/spend/logs?start_date=…` and `?user_id=…` without a key.
        for (name, columns) in [
            ("idx_spend_logs_start_time", vec![SpendLogs::StartTime]),
            (
                "idx_spend_logs_user_id_start_time",
                vec![SpendLogs::UserId, SpendLogs::StartTime],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(SpendLogs::Table).if_not_exists();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SpendDaily::Table)
                    .if_not_exists()
                    // YYYY-MM-DD (UTC): a string sorts and compares the same
                    // way on both backends.
                    .col(ColumnDef::new(SpendDaily::Day).string().not_null())
                    // key | team | user | end_user | model | global
                    .col(ColumnDef::new(SpendDaily::EntityKind).string().not_null())
                    .col(ColumnDef::new(SpendDaily::EntityId).string().not_null())
                    // The key hash behind the spend for key and team rows
                    // ("" otherwise), so the team report can break a team's
                    // spend down by key.
                    .col(ColumnDef::new(SpendDaily::ApiKey).string().not_null())
                    .col(ColumnDef::new(SpendDaily::ModelGroup).string().not_null())
                    .col(
                        ColumnDef::new(SpendDaily::SpendPicos)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(SpendDaily::PromptTokens)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(SpendDaily::CompletionTokens)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(SpendDaily::Requests)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(SpendDaily::SuccessfulRequests)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(SpendDaily::FailedRequests)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .primary_key(
                        Index::create()
                            .col(SpendDaily::Day)
                            .col(SpendDaily::EntityKind)
                            .col(SpendDaily::EntityId)
                            .col(SpendDaily::ApiKey)
                            .col(SpendDaily::ModelGroup),
                    )
                    .to_owned(),
            )
            .await?;
        // Every ingested batch updates today's rows: room left in each page
        // lets PostgreSQL update them in place (HOT) without new index
        // entries.
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE spend_daily SET (fillfactor = 50)")
                .await?;
        }
        // Reports read one kind over a range of days.
        manager
            .create_index(
                Index::create()
                    .name("idx_spend_daily_kind_day")
                    .table(SpendDaily::Table)
                    .col(SpendDaily::EntityKind)
                    .col(SpendDaily::Day)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SpendDaily::Table).to_owned())
            .await?;
        for name in [
            "idx_spend_logs_user_id_start_time",
            "idx_spend_logs_start_time",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(SpendLogs::Table).to_owned())
                .await?;
        }
        for column in [
            SpendLogs::UsageSource,
            SpendLogs::OverheadUs,
            SpendLogs::Metadata,
            SpendLogs::Tags,
            SpendLogs::Fallbacks,
            SpendLogs::Retries,
            SpendLogs::CachedTokens,
            SpendLogs::UserId,
            SpendLogs::TeamId,
            SpendLogs::KeyAlias,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SpendLogs::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
