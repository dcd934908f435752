//! An index in the key list's order (`created_at` newest first, then
//! `token`): a page is an index range, for page numbers (`OFFSET` walks the
//! index instead of sorting every key) and for the dashboard's cursors
//! (`created_at < ?` or `created_at = ? AND token > ?` start mid-index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VirtualKeys {
    Table,
    CreatedAt,
    Token,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_virtual_keys_list_order")
                    .table(VirtualKeys::Table)
                    .col((VirtualKeys::CreatedAt, IndexOrder::Desc))
                    .col((VirtualKeys::Token, IndexOrder::Asc))
                    .to_owned(),
            )
            .await
    }
}
