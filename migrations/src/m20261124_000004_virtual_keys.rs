//! Virtual keys, stored as LiteLLM stores them: the SHA-256 hex of the key is
//! the identity (`token`); the plaintext is never stored.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VirtualKeys {
    Table,
    Token,
    KeyName,
    KeyAlias,
    /// `key_alias` while the key is active, NULL once deleted: the unique
    /// index on it keeps aliases unique among live keys only.
    ActiveAlias,
    Models,
    MaxBudget,
    SoftBudget,
    BudgetDuration,
    Expires,
    TeamId,
    UserId,
    RpmLimit,
    TpmLimit,
    MaxParallelRequests,
    ModelRpmLimit,
    ModelTpmLimit,
    Metadata,
    Blocked,
    Aliases,
    Tags,
    Spend,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let json = |c: VirtualKeys| ColumnDef::new(c).json_binary().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(VirtualKeys::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(VirtualKeys::Token)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(VirtualKeys::KeyName).string().not_null())
                    .col(ColumnDef::new(VirtualKeys::KeyAlias).string().null())
                    .col(ColumnDef::new(VirtualKeys::ActiveAlias).string().null())
                    .col(json(VirtualKeys::Models))
                    .col(ColumnDef::new(VirtualKeys::MaxBudget).double().null())
                    .col(ColumnDef::new(VirtualKeys::SoftBudget).double().null())
                    .col(ColumnDef::new(VirtualKeys::BudgetDuration).string().null())
                    .col(
                        ColumnDef::new(VirtualKeys::Expires)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(VirtualKeys::TeamId).string().null())
                    .col(ColumnDef::new(VirtualKeys::UserId).string().null())
                    .col(ColumnDef::new(VirtualKeys::RpmLimit).big_integer().null())
                    .col(ColumnDef::new(VirtualKeys::TpmLimit).big_integer().null())
                    .col(
                        ColumnDef::new(VirtualKeys::MaxParallelRequests)
                            .big_integer()
                            .null(),
                    )
                    .col(json(VirtualKeys::ModelRpmLimit))
                    .col(json(VirtualKeys::ModelTpmLimit))
                    .col(json(VirtualKeys::Metadata))
                    .col(ColumnDef::new(VirtualKeys::Blocked).boolean().not_null())
                    .col(json(VirtualKeys::Aliases))
                    .col(json(VirtualKeys::Tags))
                    .col(ColumnDef::new(VirtualKeys::Spend).double().not_null())
                    .col(
                        ColumnDef::new(VirtualKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(VirtualKeys::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(VirtualKeys::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_virtual_keys_active_alias")
                    .table(VirtualKeys::Table)
                    .col(VirtualKeys::ActiveAlias)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_virtual_keys_team_id", VirtualKeys::TeamId),
            ("idx_virtual_keys_user_id", VirtualKeys::UserId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(VirtualKeys::Table)
                        .col(col)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VirtualKeys::Table).to_owned())
            .await
    }
}
