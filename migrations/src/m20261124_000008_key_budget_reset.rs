//! When a key's `budget_duration` next resets its spend. Set by the control
//! plane's budget clock (on first sight of a duration, then after each
//! reset), so resets happen when due rather than on a coarse schedule.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VirtualKeys {
    Table,
    BudgetResetAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(VirtualKeys::Table)
                    .add_column(
                        ColumnDef::new(VirtualKeys::BudgetResetAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
