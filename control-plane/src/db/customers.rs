//! End users (`/customer/*`), named by the request's `user` field.

use super::entities::customer::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub type CustomerRow = Model;

#[derive(Clone)]
pub struct Customers {
    db: DatabaseConnection,
}

impl Customers {
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

    pub async fn all(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::UserId)
            .all(&self.db)
            .await
    }

    pub async fn delete_many(&self, user_ids: &[String]) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(Column::UserId.is_in(user_ids.iter().cloned()))
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}
