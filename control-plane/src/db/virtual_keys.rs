//! Virtual keys. Deletion is soft (`deleted_at`), so `/key/info` can say a
//! key was deleted, as LiteLLM's newest versions do.

use super::entities::virtual_key::{ActiveModel, Column, Entity, Model};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

pub type VirtualKeyRow = Model;

#[derive(Clone)]
pub struct VirtualKeys {
    db: DatabaseConnection,
}

#[derive(Debug, Default)]
pub struct KeyFilter {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub key_alias: Option<String>,
    pub include_deleted: bool,
}

impl VirtualKeys {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.insert(&self.db).await
    }

    pub async fn update(&self, row: ActiveModel) -> Result<Model, DbErr> {
        row.update(&self.db).await
    }

    pub async fn find(&self, token: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(token.to_string()).one(&self.db).await
    }

    pub async fn find_active_by_alias(&self, alias: &str) -> Result<Option<Model>, DbErr> {
        Entity::find()
            .filter(Column::ActiveAlias.eq(alias))
            .one(&self.db)
            .await
    }

    /// Every key that is not deleted: what goes into the snapshot.
    pub async fn active(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::DeletedAt.is_null())
            .order_by_asc(Column::Token)
            .all(&self.db)
            .await
    }

    /// Live keys with a `max_budget` (the budget gauges).
    pub async fn with_budget(&self) -> Result<Vec<Model>, DbErr> {
        Entity::find()
            .filter(Column::DeletedAt.is_null())
            .filter(Column::MaxBudget.is_not_null())
            .order_by_asc(Column::Token)
            .all(&self.db)
            .await
    }

    fn filtered(filter: &KeyFilter) -> Select<Entity> {
        let mut condition = Condition::all();
        if !filter.include_deleted {
            condition = condition.add(Column::DeletedAt.is_null());
        }
        if let Some(user) = &filter.user_id {
            condition = condition.add(Column::UserId.eq(user.as_str()));
        }
        if let Some(team) = &filter.team_id {
            condition = condition.add(Column::TeamId.eq(team.as_str()));
        }
        if let Some(alias) = &filter.key_alias {
            condition = condition.add(Column::KeyAlias.eq(alias.as_str()));
        }
        Entity::find().filter(condition)
    }

    /// The keys `filter` selects that match, and how many there are.
    pub async fn count(&self, filter: &KeyFilter) -> Result<u64, DbErr> {
        Self::filtered(filter).count(&self.db).await
    }

    pub async fn list(
        &self,
        filter: &KeyFilter,
        page: u64,
        size: u64,
    ) -> Result<(Vec<Model>, u64), DbErr> {
        let query = Self::filtered(filter);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(Column::CreatedAt)
            .order_by_asc(Column::Token)
            .offset(page.saturating_sub(1) * size)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }

    /// Up to `limit` keys next to `from` in the list's order (`created_at`
    /// newest first, then `token`), nearest first: after it, or before it
    /// (then in reverse order). `None`: from the start of the list. Two
    /// index ranges of `idx_virtual_keys_list_order` — the cursor's own
    /// `created_at` past its token, then the older (or newer) ones — so a
    /// deep page costs what the first does.
    pub async fn next_to(
        &self,
        filter: &KeyFilter,
        from: Option<(&ListPosition, Direction)>,
        limit: u64,
    ) -> Result<Vec<Model>, DbErr> {
        let Some((at, direction)) = from else {
            return Self::filtered(filter)
                .order_by_desc(Column::CreatedAt)
                .order_by_asc(Column::Token)
                .limit(limit)
                .all(&self.db)
                .await;
        };
        let same = Self::filtered(filter).filter(Column::CreatedAt.eq(at.created_at));
        let mut rows = match direction {
            Direction::After => same
                .filter(Column::Token.gt(at.token.as_str()))
                .order_by_asc(Column::Token),
            Direction::Before => same
                .filter(Column::Token.lt(at.token.as_str()))
                .order_by_desc(Column::Token),
        }
        .limit(limit)
        .all(&self.db)
        .await?;
        let rest = limit.saturating_sub(rows.len() as u64);
        if rest > 0 {
            let others = match direction {
                Direction::After => Self::filtered(filter)
                    .filter(Column::CreatedAt.lt(at.created_at))
                    .order_by_desc(Column::CreatedAt)
                    .order_by_asc(Column::Token),
                Direction::Before => Self::filtered(filter)
                    .filter(Column::CreatedAt.gt(at.created_at))
                    .order_by_asc(Column::CreatedAt)
                    .order_by_desc(Column::Token),
            };
            rows.extend(others.limit(rest).all(&self.db).await?);
        }
        Ok(rows)
    }
}

/// Which side of a cursor a page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    After,
    Before,
}

/// A key's place in the list's order: what a cursor carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    pub created_at: DateTime<Utc>,
    pub token: String,
}

impl ListPosition {
    pub fn of(row: &Model) -> Self {
        Self {
            created_at: row.created_at,
            token: row.token.clone(),
        }
    }

    /// `<created_at in nanoseconds since 1970>.<token>`: URL-safe, and the
    /// time exactly as stored (SQLite compares it as text).
    pub fn encode(&self) -> String {
        let nanos = self
            .created_at
            .timestamp_nanos_opt()
            .unwrap_or(self.created_at.timestamp_micros().saturating_mul(1_000));
        format!("{nanos}.{}", self.token)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (nanos, token) = text.split_once('.')?;
        let nanos: i64 = nanos.parse().ok()?;
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Self {
            created_at: DateTime::from_timestamp_nanos(nanos),
            token: token.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_refuses_what_it_did_not_write() {
        let at = ListPosition {
            created_at: DateTime::from_timestamp_nanos(1_764_689_999_123_456_789),
            token: "ab12".repeat(16),
        };
        assert_eq!(ListPosition::decode(&at.encode()), Some(at));
        for bad in ["", "x.ab", "12.", "12.a;b", "12"] {
            assert_eq!(ListPosition::decode(bad), None, "{bad}");
        }
    }
}
