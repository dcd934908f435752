//! Snapshot versions: allocated by the database so they are monotonic across
//! restarts and shared by every control-plane replica on one database.

use super::entities::config_version::{ActiveModel, Column, Entity};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder, Set};

#[derive(Clone)]
pub struct ConfigVersions {
    db: DatabaseConnection,
}

impl ConfigVersions {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The version for this content: the latest one if its hash matches
    /// (a restart with an unchanged config keeps its version), else a new one.
    pub async fn version_for(&self, content_hash: &str) -> Result<u64, DbErr> {
        let latest = Entity::find()
            .order_by_desc(Column::Version)
            .one(&self.db)
            .await?;
        if let Some(row) = latest.filter(|row| row.content_hash == content_hash) {
            return Ok(row.version.unsigned_abs());
        }
        let row = ActiveModel {
            content_hash: Set(content_hash.to_string()),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(row.version.unsigned_abs())
    }
}
