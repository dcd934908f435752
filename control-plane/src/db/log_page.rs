//! The dashboard's log table: one page of `spend_logs`, newest first, by
//! keyset on (`start_time`, `request_id`) so page 1,000 costs what page 1
//! does (no OFFSET).

use super::entities::spend_log::{Column, Entity, Model};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

#[derive(Debug, Default, Clone)]
pub struct LogQuery {
    /// SHA-256 hex of the key.
    pub api_key: Option<String>,
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub end_user: Option<String>,
    pub model_group: Option<String>,
    /// "success" or "failure".
    pub status: Option<String>,
    pub error_type: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The last row of the previous page.
    pub after: Option<(DateTime<Utc>, String)>,
}

impl LogQuery {
    pub fn condition(&self) -> Condition {
        let mut c = Condition::all();
        let eq = |c: Condition, col: Column, v: &Option<String>| match v {
            Some(v) => c.add(col.eq(v.clone())),
            None => c,
        };
        c = eq(c, Column::ApiKey, &self.api_key);
        c = eq(c, Column::KeyAlias, &self.key_alias);
        c = eq(c, Column::TeamId, &self.team_id);
        c = eq(c, Column::UserId, &self.user_id);
        c = eq(c, Column::EndUser, &self.end_user);
        c = eq(c, Column::ModelGroup, &self.model_group);
        c = eq(c, Column::Status, &self.status);
        c = eq(c, Column::ErrorType, &self.error_type);
        c = eq(c, Column::RequestId, &self.request_id);
        if let Some(from) = self.from {
            c = c.add(Column::StartTime.gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(Column::StartTime.lt(to));
        }
        if let Some((t, id)) = &self.after {
            c = c.add(
                Condition::any().add(Column::StartTime.lt(*t)).add(
                    Condition::all()
                        .add(Column::StartTime.eq(*t))
                        .add(Column::RequestId.lt(id.clone())),
                ),
            );
        }
        c
    }

    /// Whether a just-ingested record belongs in this view (the live tail
    /// applies the same filters as the table).
    pub fn matches(&self, m: &Model) -> bool {
        let ok = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        ok(&self.api_key, Some(&m.api_key))
            && ok(&self.key_alias, m.key_alias.as_deref())
            && ok(&self.team_id, m.team_id.as_deref())
            && ok(&self.user_id, m.user_id.as_deref())
            && ok(&self.end_user, m.end_user.as_deref())
            && ok(&self.model_group, Some(&m.model_group))
            && ok(&self.status, Some(&m.status))
            && ok(&self.error_type, m.error_type.as_deref())
            && ok(&self.request_id, Some(&m.request_id))
    }
}

pub async fn page(db: &DatabaseConnection, q: &LogQuery, limit: u64) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(q.condition())
        .order_by_desc(Column::StartTime)
        .order_by_desc(Column::RequestId)
        .limit(limit)
        .all(db)
        .await
}
