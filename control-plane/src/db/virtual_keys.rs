//! Virtual keys. Deletion is soft (`deleted_at`), so `/key/info` can say a
//! key was deleted, as LiteLLM's newest versions do.

use super::entities::virtual_key::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub type VirtualKeyRow = Model;

#[derive(Clone)]
pub struct VirtualKeys {
    db: DatabaseConnection,
}

#[derive(Debug, Default)]
pub struct KeyFilter {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub key_alias: Option<String>,
    pub include_deleted: bool,
}

impl VirtualKeys {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.insert(&self.db).await
    }

    pub async fn update(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.update(&self.db).await
    }

    pub async fn find(&self, token: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(token.to_string()).one(&self.db).await
    }

    pub async fn find_active_by_alias(&self, alias: &str) -> Result<Option<Model>, DbErr> {
        Entity::find()
            .filter(Column::ActiveAlias.eq(alias))
            .one(&self.db)
            .await
    }

    /// Every key that is not deleted: what goes into the snapshot.
    pub async fn active(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::DeletedAt.is_null())
            .order_by_asc(Column::Token)
            .all(&self.db)
            .await
    }

    /// Live keys with a `max_budget` (the budget gauges).
    pub async fn with_budget(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::DeletedAt.is_null())
            .filter(Column::MaxBudget.is_not_null())
            .order_by_asc(Column::Token)
            .all(&self.db)
            .await
    }

    pub async fn list(
        &self,
        filter: &KeyFilter,
        page: u64,
        size: u64,
    ) -> Result<(Vec<Model>, u64), DbErr> {
        let mut condition = Condition::all();
        if !filter.include_deleted {
            condition = condition.add(Column::DeletedAt.is_null());
        }
        if let Some(user) = &filter.user_id {
            condition = condition.add(Column::UserId.eq(user.as_str()));
        }
        if let Some(team) = &filter.team_id {
            condition = condition.add(Column::TeamId.eq(team.as_str()));
        }
        if let Some(alias) = &filter.key_alias {
            condition = condition.add(Column::KeyAlias.eq(alias.as_str()));
        }
        let query = Entity::find().filter(condition);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(Column::CreatedAt)
            .order_by_asc(Column::Token)
            .offset(page.saturating_sub(1) * size)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }
}
