//! Teams, team membership, internal users and end users (customers), as
//! LiteLLM models them. Budgets are float USD like LiteLLM's API; spend is
//! exact, in integer picodollars (`spend_picos`), incremented at usage
//! ingest.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Teams {
    Table,
    TeamId,
    TeamAlias,
    Models,
    MaxBudget,
    SoftBudget,
    BudgetDuration,
    BudgetResetAt,
    RpmLimit,
    TpmLimit,
    MaxParallelRequests,
    ModelRpmLimit,
    ModelTpmLimit,
    Metadata,
    Blocked,
    SpendPicos,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    TeamId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
    UserEmail,
    UserAlias,
    UserRole,
    Models,
    MaxBudget,
    SoftBudget,
    BudgetDuration,
    BudgetResetAt,
    RpmLimit,
    TpmLimit,
    MaxParallelRequests,
    ModelRpmLimit,
    ModelTpmLimit,
    Metadata,
    SpendPicos,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    UserId,
    Alias,
    Blocked,
    MaxBudget,
    SoftBudget,
    BudgetDuration,
    BudgetResetAt,
    RpmLimit,
    TpmLimit,
    MaxParallelRequests,
    SpendPicos,
    AllowedModelRegion,
    DefaultModel,
    CreatedAt,
    UpdatedAt,
}

fn id<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}
fn text<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c).string().null().to_owned()
}
fn json<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c).json_binary().not_null().to_owned()
}
fn usd<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c).double().null().to_owned()
}
fn int<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c).big_integer().null().to_owned()
}
fn picos<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}
fn at<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
fn maybe_at<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}
fn flag<T: IntoIden>(c: T) -> ColumnDef {
    ColumnDef::new(c)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .if_not_exists()
                    .col(id(Teams::TeamId))
                    .col(text(Teams::TeamAlias))
                    .col(json(Teams::Models))
                    .col(usd(Teams::MaxBudget))
                    .col(usd(Teams::SoftBudget))
                    .col(text(Teams::BudgetDuration))
                    .col(maybe_at(Teams::BudgetResetAt))
                    .col(int(Teams::RpmLimit))
                    .col(int(Teams::TpmLimit))
                    .col(int(Teams::MaxParallelRequests))
                    .col(json(Teams::ModelRpmLimit))
                    .col(json(Teams::ModelTpmLimit))
                    .col(json(Teams::Metadata))
                    .col(flag(Teams::Blocked))
                    .col(picos(Teams::SpendPicos))
                    .col(at(Teams::CreatedAt))
                    .col(at(Teams::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // LiteLLM enforces unique team aliases in /team/new and /team/update.
        manager
            .create_index(
                Index::create()
                    .name("uq_teams_team_alias")
                    .table(Teams::Table)
                    .col(Teams::TeamAlias)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(id(Users::UserId))
                    .col(text(Users::UserEmail))
                    .col(text(Users::UserAlias))
                    .col(ColumnDef::new(Users::UserRole).string().not_null())
                    .col(json(Users::Models))
                    .col(usd(Users::MaxBudget))
                    .col(usd(Users::SoftBudget))
                    .col(text(Users::BudgetDuration))
                    .col(maybe_at(Users::BudgetResetAt))
                    .col(int(Users::RpmLimit))
                    .col(int(Users::TpmLimit))
                    .col(int(Users::MaxParallelRequests))
                    .col(json(Users::ModelRpmLimit))
                    .col(json(Users::ModelTpmLimit))
                    .col(json(Users::Metadata))
                    .col(picos(Users::SpendPicos))
                    .col(at(Users::CreatedAt))
                    .col(at(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TeamMembers::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(TeamMembers::TeamId).string().not_null())
                    .col(ColumnDef::new(TeamMembers::UserId).string().not_null())
                    .col(ColumnDef::new(TeamMembers::Role).string().not_null())
                    .col(at(TeamMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TeamMembers::TeamId)
                            .col(TeamMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMembers::Table, TeamMembers::TeamId)
                            .to(Teams::Table, Teams::TeamId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamMembers::Table, TeamMembers::UserId)
                            .to(Users::Table, Users::UserId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_team_members_user_id")
                    .table(TeamMembers::Table)
                    .col(TeamMembers::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .if_not_exists()
                    .col(id(Customers::UserId))
                    .col(text(Customers::Alias))
                    .col(flag(Customers::Blocked))
                    .col(usd(Customers::MaxBudget))
                    .col(usd(Customers::SoftBudget))
                    .col(text(Customers::BudgetDuration))
                    .col(maybe_at(Customers::BudgetResetAt))
                    .col(int(Customers::RpmLimit))
                    .col(int(Customers::TpmLimit))
                    .col(int(Customers::MaxParallelRequests))
                    .col(picos(Customers::SpendPicos))
                    .col(text(Customers::AllowedModelRegion))
                    .col(text(Customers::DefaultModel))
                    .col(at(Customers::CreatedAt))
                    .col(at(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TeamMembers::Table.into_iden(),
            Customers::Table.into_iden(),
            Users::Table.into_iden(),
            Teams::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
