use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_planes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub node_id: String,
    pub connected: bool,
    pub applied_version: Option<i64>,
    pub applied_hash: Option<String>,
    pub last_seen: DateTimeUtc,
    pub last_nack_version: Option<i64>,
    pub last_nack_error: Option<String>,
    pub software_version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
