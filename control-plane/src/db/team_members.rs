//! Who is in which team, with which team role.

use super::entities::team_member::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

pub type TeamMemberRow = Model;

#[derive(Clone)]
pub struct TeamMembers {
    db: DatabaseConnection,
}

impl TeamMembers {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Adds or changes a member's role.
    pub async fn upsert(&self, team_id: &str, user_id: &str, role: &str) -> Result<(), DbErr> {
        match self.find(team_id, user_id).await? {
            Some(existing) => {
                let mut row: ActiveModel = existing.into();
                row.role = Set(role.to_string());
                row.update(&self.db).await?;
            }
            None => {
                ActiveModel {
                    team_id: Set(team_id.to_string()),
                    user_id: Set(user_id.to_string()),
                    role: Set(role.to_string()),
                    created_at: Set(chrono::Utc::now()),
                }
                .insert(&self.db)
                .await?;
            }
        }
        Ok(())
    }

    pub async fn find(&self, team_id: &str, user_id: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id((team_id.to_string(), user_id.to_string()))
            .one(&self.db)
            .await
    }

    pub async fn of_team(&self, team_id: &str) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::TeamId.eq(team_id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::UserId)
            .all(&self.db)
            .await
    }

    pub async fn of_user(&self, user_id: &str) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::UserId.eq(user_id))
            .order_by_asc(Column::TeamId)
            .all(&self.db)
            .await
    }

    pub async fn all(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .order_by_asc(Column::TeamId)
            .order_by_asc(Column::CreatedAt)
            .all(&self.db)
            .await
    }

    pub async fn remove(&self, team_id: &str, user_id: &str) -> Result<bool, DbErr> {
        let result = Entity::delete_by_id((team_id.to_string(), user_id.to_string()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn remove_team(&self, team_id: &str) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(Column::TeamId.eq(team_id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    pub async fn remove_user(&self, user_id: &str) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(Column::UserId.eq(user_id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}
