//! Exact spend: per-request cost in integer picodollars (10⁻¹² USD) beside
//! LiteLLM's float `spend`, and a running total per key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendLogs {
    Table,
    Spend,
    SpendPicos,
    CostKnown,
}

#[derive(DeriveIden)]
enum VirtualKeys {
    Table,
    SpendPicos,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            ColumnDef::new(SpendLogs::Spend)
                .double()
                .not_null()
                .default(0.0)
                .to_owned(),
            ColumnDef::new(SpendLogs::SpendPicos)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(SpendLogs::CostKnown)
                .boolean()
                .not_null()
                .default(true)
                .to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(SpendLogs::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(VirtualKeys::Table)
                    .add_column(
                        ColumnDef::new(VirtualKeys::SpendPicos)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(VirtualKeys::Table)
                    .drop_column(VirtualKeys::SpendPicos)
                    .to_owned(),
            )
            .await?;
        for column in [
            SpendLogs::CostKnown,
            SpendLogs::SpendPicos,
            SpendLogs::Spend,
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
