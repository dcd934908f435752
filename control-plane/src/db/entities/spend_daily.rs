use sea_orm::entity::prelude::*;

/// Spend per day per entity, upserted by usage ingest.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "spend_daily")]
pub struct Model {
    /// YYYY-MM-DD, UTC.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    /// See [`crate::spend::EntityKind`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub model_group: String,
    pub spend_picos: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub requests: i64,
    pub successful_requests: i64,
    pub failed_requests: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
