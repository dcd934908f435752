//! Each spend log row names its request's trace (W3C trace id and the
//! SERVER span id, hex), so a row leads to the request's trace in Jaeger.
//! Two statements: SQLite adds one column per `ALTER TABLE`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpendLogs {
    Table,
    TraceId,
    SpanId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SpendLogs::TraceId, SpendLogs::SpanId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SpendLogs::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
