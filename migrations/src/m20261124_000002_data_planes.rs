//! Status of every data plane that ever connected: what it applied, when it
//! was last seen, what it rejected.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataPlanes {
    Table,
    NodeId,
    Connected,
    AppliedVersion,
    AppliedHash,
    LastSeen,
    LastNackVersion,
    LastNackError,
    SoftwareVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataPlanes::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DataPlanes::NodeId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataPlanes::Connected).boolean().not_null())
                    .col(
                        ColumnDef::new(DataPlanes::AppliedVersion)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(DataPlanes::AppliedHash).string().null())
                    .col(
                        ColumnDef::new(DataPlanes::LastSeen)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DataPlanes::LastNackVersion)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(DataPlanes::LastNackError).text().null())
                    .col(
                        ColumnDef::new(DataPlanes::SoftwareVersion)
                            .string()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataPlanes::Table).to_owned())
            .await
    }
}
