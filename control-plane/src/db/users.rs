//! Internal users (`/user/*`).

use super::entities::user::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

pub type UserRow = Model;

#[derive(Clone)]
pub struct Users {
    db: DatabaseConnection,
}

impl Users {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.insert(&self.db).await
    }

    pub async fn update(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.update(&self.db).await
    }

    pub async fn find(&self, user_id: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(user_id.to_string()).one(&self.db).await
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<Model>, DbErr> {
        Entity::find()
            .filter(Column::UserEmail.eq(email))
            .one(&self.db)
            .await
    }

    pub async fn all(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .order_by_asc(Column::UserId)
            .all(&self.db)
            .await
    }

    /// Users with a `max_budget` (the budget gauges).
    pub async fn with_budget(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::MaxBudget.is_not_null())
            .order_by_asc(Column::UserId)
            .all(&self.db)
            .await
    }

    pub async fn page(
        &self,
        role: Option<&str>,
        page: u64,
        size: u64,
    ) -> Result<(Vec<Model>, u64), DbErr> {
        let mut query = Entity::find();
        if let Some(role) = role {
            query = query.filter(Column::UserRole.eq(role));
        }
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(Column::CreatedAt)
            .order_by_asc(Column::UserId)
            .offset(page.saturating_sub(1) * size)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }

    pub async fn delete(&self, user_id: &str) -> Result<(), DbErr> {
        Entity::delete_by_id(user_id.to_string())
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}
