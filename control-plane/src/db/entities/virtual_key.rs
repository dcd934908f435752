use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "virtual_keys")]
pub struct Model {
    /// SHA-256 hex of the key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    pub key_name: String,
    pub key_alias: Option<String>,
    pub active_alias: Option<String>,
    pub models: Json,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub expires: Option<DateTimeUtc>,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub max_parallel_requests: Option<i64>,
    pub model_rpm_limit: Json,
    pub model_tpm_limit: Json,
    pub metadata: Json,
    pub blocked: bool,
    pub aliases: Json,
    pub tags: Json,
    pub spend: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Exact running spend; `spend` is its USD rendering.
    pub spend_picos: i64,
    /// When `budget_duration` next resets `spend` (the budget clock keeps it).
    pub budget_reset_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
