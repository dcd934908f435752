//! `ui_sessions`: the dashboard's sessions, so a control-plane restart, or
//! a standby taking over, keeps everyone logged in. The browser's session id
//! is stored as its SHA-256 only: a copy of this table opens no session.
//! Times are Unix milliseconds (one integer type on both backends).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UiSessions {
    Table,
    IdHash,
    UserId,
    Role,
    CsrfToken,
    CreatedMs,
    LastSeenMs,
    ExpiresMs,
    MasterKeyHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UiSessions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(UiSessions::IdHash)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(UiSessions::UserId).string().not_null())
                    .col(ColumnDef::new(UiSessions::Role).string().not_null())
                    .col(ColumnDef::new(UiSessions::CsrfToken).string().not_null())
                    .col(
                        ColumnDef::new(UiSessions::CreatedMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UiSessions::LastSeenMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UiSessions::ExpiresMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UiSessions::MasterKeyHash).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UiSessions::Table).to_owned())
            .await
    }
}
