use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "spend_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub request_id: String,
    pub node_id: String,
    pub call_type: String,
    /// SHA-256 hex of the key used, as LiteLLM stores it.
    pub api_key: String,
    pub model_group: String,
    pub model_id: String,
    pub provider: String,
    pub api_base: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub status: String,
    pub error_type: Option<String>,
    pub http_status: i32,
    pub start_time: DateTimeUtc,
    pub end_time: DateTimeUtc,
    pub completion_start_time: Option<DateTimeUtc>,
    pub stream: bool,
    pub end_user: Option<String>,
    pub received_at: DateTimeUtc,
    /// USD, as LiteLLM stores it (for display and compatibility).
    pub spend: f64,
    /// The exact cost: integer picodollars.
    pub spend_picos: i64,
    /// False when the model has no price: the spend of 0 is not a real 0.
    pub cost_known: bool,
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    /// The internal user who owns the key (LiteLLM's `user`).
    pub user_id: Option<String>,
    /// Prompt tokens served from the provider's cache (part of `prompt_tokens`).
    pub cached_tokens: i64,
    pub retries: i32,
    pub fallbacks: i32,
    /// JSON array of strings.
    pub tags: String,
    /// The request's `metadata` object as JSON.
    pub metadata: Option<String>,
    /// Time spent in the gateway itself, microseconds.
    pub overhead_us: i64,
    /// "provider" or "tokenizer" ("" from data planes that predate it).
    pub usage_source: String,
    /// The request's W3C trace id and SERVER span id (hex), when traced.
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
