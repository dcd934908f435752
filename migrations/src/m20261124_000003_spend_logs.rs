//! Append-only log of every request a data plane served, keyed by request id
//! so a record delivered twice is stored once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendLogs {
    Table,
    RequestId,
    NodeId,
    CallType,
    ApiKey,
    ModelGroup,
    ModelId,
    Provider,
    ApiBase,
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    Status,
    ErrorType,
    HttpStatus,
    StartTime,
    EndTime,
    CompletionStartTime,
    Stream,
    EndUser,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SpendLogs::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(SpendLogs::RequestId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SpendLogs::NodeId).string().not_null())
                    .col(ColumnDef::new(SpendLogs::CallType).string().not_null())
                    .col(ColumnDef::new(SpendLogs::ApiKey).string().not_null())
                    .col(ColumnDef::new(SpendLogs::ModelGroup).string().not_null())
                    .col(ColumnDef::new(SpendLogs::ModelId).string().not_null())
                    .col(ColumnDef::new(SpendLogs::Provider).string().not_null())
                    .col(ColumnDef::new(SpendLogs::ApiBase).string().not_null())
                    .col(
                        ColumnDef::new(SpendLogs::PromptTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SpendLogs::CompletionTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SpendLogs::TotalTokens)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SpendLogs::Status).string().not_null())
                    .col(ColumnDef::new(SpendLogs::ErrorType).string().null())
                    .col(ColumnDef::new(SpendLogs::HttpStatus).integer().not_null())
                    .col(
                        ColumnDef::new(SpendLogs::StartTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SpendLogs::EndTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SpendLogs::CompletionStartTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(SpendLogs::Stream).boolean().not_null())
                    .col(ColumnDef::new(SpendLogs::EndUser).string().null())
                    .col(
                        ColumnDef::new(SpendLogs::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The queries LiteLLM users run most (`/spend/logs?api_key=…` by
        // time) need this; LiteLLM lacks it (#35766).
        manager
            .create_index(
                Index::create()
                    .name("idx_spend_logs_api_key_start_time")
                    .table(SpendLogs::Table)
                    .col(SpendLogs::ApiKey)
                    .col(SpendLogs::StartTime)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SpendLogs::Table).to_owned())
            .await
    }
}
