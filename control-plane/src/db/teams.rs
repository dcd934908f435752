//! Teams. Deletion is hard: LiteLLM removes the row (and the team's keys,
//! which the team service deletes first).

use super::entities::team::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub type TeamRow = Model;

#[derive(Clone)]
pub struct Teams {
    db: DatabaseConnection,
}

impl Teams {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.insert(&self.db).await
    }

    pub async fn update(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.update(&self.db).await
    }

    pub async fn find(&self, team_id: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(team_id.to_string()).one(&self.db).await
    }

    pub async fn find_by_alias(&self, alias: &str) -> Result<Option<Model>, DbErr> {
        Entity::find()
            .filter(Column::TeamAlias.eq(alias))
            .one(&self.db)
            .await
    }

    pub async fn all(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::TeamId)
            .all(&self.db)
            .await
    }

    pub async fn delete(&self, team_id: &str) -> Result<(), DbErr> {
        Entity::delete_by_id(team_id.to_string())
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}
