//! Persistent status of data planes (what each applied, when it was seen).

use super::entities::data_plane::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

pub type DataPlaneRow = Model;

#[derive(Clone)]
pub struct DataPlanes {
    db: DatabaseConnection,
}

impl DataPlanes {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn all(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find().all(&self.db).await
    }

    /// Writes the whole row: the registry holds the authoritative in-memory
    /// copy and persists it on every change.
    pub async fn upsert(&self, row: &Model) -> Result<(), DbErr> {
        let active = ActiveModel {
            node_id: Set(row.node_id.clone()),
            connected: Set(row.connected),
            applied_version: Set(row.applied_version),
            applied_hash: Set(row.applied_hash.clone()),
            last_seen: Set(row.last_seen),
            last_nack_version: Set(row.last_nack_version),
            last_nack_error: Set(row.last_nack_error.clone()),
            software_version: Set(row.software_version.clone()),
        };
        Entity::insert(active)
            .on_conflict(
                OnConflict::column(Column::NodeId)
                    .update_columns([
                        Column::Connected,
                        Column::AppliedVersion,
                        Column::AppliedHash,
                        Column::LastSeen,
                        Column::LastNackVersion,
                        Column::LastNackError,
                        Column::SoftwareVersion,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// At start no stream exists yet, whatever the last process recorded.
    pub async fn mark_all_disconnected(&self) -> Result<(), DbErr> {
        Entity::update_many()
            .set(ActiveModel {
                node_id: NotSet,
                connected: Set(false),
                ..Default::default()
            })
            .filter(Column::Connected.eq(true))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
