//! LiteLLM's key operations over the `virtual_keys` table.

use super::KeyError;
use super::convert::{apply_spec, key_to_proto};
use crate::db::entities::virtual_key::ActiveModel;
use crate::db::{Direction, KeyFilter, ListPosition, VirtualKeyRow, VirtualKeys};
use crate::manage_error::is_unique_violation;
use crate::publisher::Publisher;
use chrono::Utc;
use sea_orm::{IntoActiveModel, Set};
use serde_json::json;
use std::sync::Arc;
use tollgate_proto::v1::{
    DeleteKeysRequest, DeleteKeysResponse, GenerateKeyRequest, KeyResponse, KeySpec,
    ListKeysRequest, ListKeysResponse, RegenerateKeyRequest, UpdateKeyRequest,
};
use tollgate_shared::keys::{KeyHash, abbreviate};

/// Enough for every key a team or user can have in practice; listing is
/// paginated only for display.
const ALL_KEYS: u64 = 1_000_000;

pub struct KeyService {
    keys: VirtualKeys,
    publisher: Arc<Publisher>,
}

/// LiteLLM accepts a key or its SHA-256 hex wherever a key is referenced.
fn token_of(reference: &str) -> String {
    let r = reference.trim();
    if r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        r.to_ascii_lowercase()
    } else {
        KeyHash::of(r).to_hex()
    }
}

fn new_plaintext() -> String {
    format!("sk-{}", hex::encode(rand::random::<[u8; 16]>()))
}

impl KeyService {
    pub fn new(keys: VirtualKeys, publisher: Arc<Publisher>) -> Self {
        Self { keys, publisher }
    }

    async fn check_alias(
        &self,
        row: &ActiveModel,
        own_token: Option<&str>,
    ) -> Result<(), KeyError> {
        let sea_orm::ActiveValue::Set(Some(alias)) = &row.active_alias else {
            return Ok(());
        };
        match self.keys.find_active_by_alias(alias).await? {
            Some(other) if Some(other.token.as_str()) != own_token => {
                Err(KeyError::Conflict(format!(
                    "key_alias `{alias}` is already used by another key; aliases must be unique"
                )))
            }
            _ => Ok(()),
        }
    }

    async fn active(&self, reference: &str) -> Result<VirtualKeyRow, KeyError> {
        match self.keys.find(&token_of(reference)).await? {
            Some(row) if row.deleted_at.is_none() => Ok(row),
            Some(_) => Err(KeyError::NotFound(format!(
                "{} (it was deleted)",
                abbreviate(reference)
            ))),
            None => Err(KeyError::NotFound(abbreviate(reference))),
        }
    }

    /// Publishes the change (this key, and a key it replaced) and answers.
    async fn respond(
        &self,
        row: &VirtualKeyRow,
        plaintext: String,
        replaced: Option<String>,
    ) -> Result<KeyResponse, KeyError> {
        let mut changed = vec![row.token.clone()];
        changed.extend(replaced);
        let snapshot_version = self.publisher.publish_keys(&changed).await?;
        Ok(KeyResponse {
            key: Some(key_to_proto(row)),
            plaintext_key: plaintext,
            snapshot_version,
        })
    }

    async fn store(
        &self,
        row: ActiveModel,
        own: Option<&str>,
        insert: bool,
    ) -> Result<VirtualKeyRow, KeyError> {
        self.check_alias(&row, own).await?;
        let result = if insert {
            self.keys.insert(row).await
        } else {
            self.keys.update(row).await
        };
        result.map_err(|e| {
            if is_unique_violation(&e) {
                KeyError::Conflict("key_alias or key already exists; aliases must be unique".into())
            } else {
                KeyError::Database(e)
            }
        })
    }

    fn blank(token: String, key_name: String) -> ActiveModel {
        let now = Utc::now();
        ActiveModel {
            token: Set(token),
            key_name: Set(key_name),
            key_alias: Set(None),
            active_alias: Set(None),
            models: Set(json!([])),
            max_budget: Set(None),
            soft_budget: Set(None),
            budget_duration: Set(None),
            expires: Set(None),
            team_id: Set(None),
            user_id: Set(None),
            rpm_limit: Set(None),
            tpm_limit: Set(None),
            max_parallel_requests: Set(None),
            model_rpm_limit: Set(json!({})),
            model_tpm_limit: Set(json!({})),
            metadata: Set(json!({})),
            blocked: Set(false),
            aliases: Set(json!({})),
            tags: Set(json!([])),
            spend: Set(0.0),
            spend_picos: Set(0),
            budget_reset_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        }
    }

    pub async fn generate(&self, request: GenerateKeyRequest) -> Result<KeyResponse, KeyError> {
        let plaintext = if request.key.is_empty() {
            new_plaintext()
        } else if !request.key.starts_with("sk-") || request.key.len() < 8 {
            return Err(KeyError::invalid(
                "key",
                "a chosen key must start with `sk-` and be at least 8 characters",
            ));
        } else {
            request.key.clone()
        };
        let token = KeyHash::of(&plaintext).to_hex();
        if self.keys.find(&token).await?.is_some() {
            return Err(KeyError::Conflict(
                "a key with this value already exists".into(),
            ));
        }
        let mut row = Self::blank(token, abbreviate(&plaintext));
        apply_spec(&request.spec.unwrap_or_default(), &mut row, Utc::now())?;
        let stored = self.store(row, None, true).await?;
        self.respond(&stored, plaintext, None).await
    }

    pub async fn update(&self, request: UpdateKeyRequest) -> Result<KeyResponse, KeyError> {
        let reference = request.key.map(|k| k.key).unwrap_or_default();
        let existing = self.active(&reference).await?;
        let token = existing.token.clone();
        let mut row = existing.into_active_model();
        apply_spec(&request.spec.unwrap_or_default(), &mut row, Utc::now())?;
        row.updated_at = Set(Utc::now());
        let stored = self.store(row, Some(&token), false).await?;
        self.respond(&stored, String::new(), None).await
    }

    pub async fn set_blocked(
        &self,
        reference: &str,
        blocked: bool,
    ) -> Result<KeyResponse, KeyError> {
        let spec = KeySpec {
            blocked: Some(blocked),
            ..KeySpec::default()
        };
        self.update(UpdateKeyRequest {
            key: Some(tollgate_proto::v1::KeyRef {
                key: reference.to_string(),
            }),
            spec: Some(spec),
        })
        .await
    }

    pub async fn get(&self, reference: &str) -> Result<KeyResponse, KeyError> {
        let row = self
            .keys
            .find(&token_of(reference))
            .await?
            .ok_or_else(|| KeyError::NotFound(abbreviate(reference)))?;
        Ok(KeyResponse {
            key: Some(key_to_proto(&row)),
            plaintext_key: String::new(),
            snapshot_version: 0,
        })
    }

    pub async fn list(&self, request: ListKeysRequest) -> Result<ListKeysResponse, KeyError> {
        let page = request.page.max(1);
        let size = if request.size == 0 { 10 } else { request.size };
        if size > 100 {
            return Err(KeyError::invalid("size", "must be between 1 and 100"));
        }
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let cursor = match (non_empty(request.after), non_empty(request.before)) {
            (Some(_), Some(_)) => {
                return Err(KeyError::invalid(
                    "after",
                    "pass `after` or `before`, not both",
                ));
            }
            (Some(c), None) => Some((c, Direction::After, "after")),
            (None, Some(c)) => Some((c, Direction::Before, "before")),
            (None, None) => None,
        };
        let filter = KeyFilter {
            user_id: non_empty(request.user_id),
            team_id: non_empty(request.team_id),
            key_alias: non_empty(request.key_alias),
            include_deleted: request.include_deleted,
        };
        if cursor.is_none() && page > 1 {
            let (rows, total) = self
                .keys
                .list(&filter, u64::from(page), u64::from(size))
                .await?;
            return Ok(ListKeysResponse {
                keys: rows.iter().map(key_to_proto).collect(),
                total_count: total,
                current_page: page,
                total_pages: u32::try_from(total.div_ceil(u64::from(size))).unwrap_or(u32::MAX),
                next_after: String::new(),
                prev_before: String::new(),
            });
        }
        let position = match &cursor {
            Some((text, direction, field)) => {
                let Some(p) = ListPosition::decode(text) else {
                    return Err(KeyError::invalid(
                        field,
                        "is not a cursor from this list (pass a `next_after` or \
                         `prev_before` of an earlier answer, or none for the first page)",
                    ));
                };
                Some((p, *direction))
            }
            None => None,
        };
        let from = position.as_ref().map(|(p, d)| (p, *d));
        // One more than a page: whether the list goes on that way.
        let mut rows = self
            .keys
            .next_to(&filter, from, u64::from(size) + 1)
            .await?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        if from.is_some_and(|(_, d)| d == Direction::Before) {
            rows.reverse();
        }
        let cursor_of = |row: Option<&VirtualKeyRow>| {
            row.map(|r| ListPosition::of(r).encode())
                .unwrap_or_default()
        };
        // The other way: is there a key beyond this page's edge?
        let beyond = |edge: Option<&VirtualKeyRow>, direction| {
            let filter = &filter;
            let edge = edge.map(ListPosition::of);
            async move {
                match edge {
                    Some(at) => Ok::<_, KeyError>(
                        !self
                            .keys
                            .next_to(filter, Some((&at, direction)), 1)
                            .await?
                            .is_empty(),
                    ),
                    None => Ok(false),
                }
            }
        };
        let (next, prev) = match from.map(|(_, d)| d) {
            None => (more, false),
            Some(Direction::After) => (more, beyond(rows.first(), Direction::Before).await?),
            Some(Direction::Before) => (beyond(rows.last(), Direction::After).await?, more),
        };
        let total = self.keys.count(&filter).await?;
        Ok(ListKeysResponse {
            keys: rows.iter().map(key_to_proto).collect(),
            total_count: total,
            current_page: if cursor.is_none() { 1 } else { 0 },
            total_pages: if cursor.is_none() {
                u32::try_from(total.div_ceil(u64::from(size))).unwrap_or(u32::MAX)
            } else {
                0
            },
            next_after: if next {
                cursor_of(rows.last())
            } else {
                String::new()
            },
            prev_before: if prev {
                cursor_of(rows.first())
            } else {
                String::new()
            },
        })
    }

    /// All or nothing: every referenced key must exist and be live.
    pub async fn delete(&self, request: DeleteKeysRequest) -> Result<DeleteKeysResponse, KeyError> {
        if request.keys.is_empty() && request.key_aliases.is_empty() {
            return Err(KeyError::invalid(
                "keys",
                "pass `keys` or `key_aliases` to delete",
            ));
        }
        let mut rows = Vec::new();
        for reference in &request.keys {
            rows.push(self.active(reference).await?);
        }
        for alias in &request.key_aliases {
            let row = self
                .keys
                .find_active_by_alias(alias)
                .await?
                .ok_or_else(|| {
                    KeyError::NotFound(format!("no live key has key_alias `{alias}`"))
                })?;
            rows.push(row);
        }
        let now = Utc::now();
        let changed: Vec<String> = rows.iter().map(|r| r.token.clone()).collect();
        for row in rows {
            let mut active = row.into_active_model();
            active.deleted_at = Set(Some(now));
            active.active_alias = Set(None);
            active.updated_at = Set(now);
            self.keys.update(active).await?;
        }
        let snapshot_version = self.publisher.publish_keys(&changed).await?;
        let mut deleted_keys = request.keys;
        deleted_keys.extend(request.key_aliases);
        Ok(DeleteKeysResponse {
            deleted_keys,
            snapshot_version,
        })
    }

    /// Every key `filter` selects (a team's or a user's), newest first, in
    /// one page.
    pub async fn all_of(&self, filter: &KeyFilter) -> Result<Vec<VirtualKeyRow>, KeyError> {
        Ok(self.keys.list(filter, 1, ALL_KEYS).await?.0)
    }

    /// Deletes every key `filter` selects; answers their tokens.
    pub async fn delete_all_of(&self, filter: &KeyFilter) -> Result<Vec<String>, KeyError> {
        let tokens: Vec<String> = self
            .all_of(filter)
            .await?
            .into_iter()
            .map(|k| k.token)
            .collect();
        if !tokens.is_empty() {
            self.delete(DeleteKeysRequest {
                keys: tokens.clone(),
                key_aliases: Vec::new(),
            })
            .await?;
        }
        Ok(tokens)
    }

    /// A new key with the old one's settings; the old key stops working.
    pub async fn regenerate(&self, request: RegenerateKeyRequest) -> Result<KeyResponse, KeyError> {
        let reference = request.key.map(|k| k.key).unwrap_or_default();
        let old = self.active(&reference).await?;
        let plaintext = if request.new_key.is_empty() {
            new_plaintext()
        } else if !request.new_key.starts_with("sk-") || request.new_key.len() < 8 {
            return Err(KeyError::invalid(
                "new_key",
                "must start with `sk-` and be at least 8 characters",
            ));
        } else {
            request.new_key.clone()
        };
        let token = KeyHash::of(&plaintext).to_hex();
        if self.keys.find(&token).await?.is_some() {
            return Err(KeyError::Conflict(
                "a key with this value already exists".into(),
            ));
        }
        let now = Utc::now();
        let retired_token = old.token.clone();
        let mut retired = old.clone().into_active_model();
        retired.deleted_at = Set(Some(now));
        retired.active_alias = Set(None);
        retired.updated_at = Set(now);
        self.keys.update(retired).await?;

        let mut fresh = old.into_active_model();
        fresh.token = Set(token);
        fresh.key_name = Set(abbreviate(&plaintext));
        fresh.created_at = Set(now);
        fresh.updated_at = Set(now);
        fresh.deleted_at = Set(None);
        // A new key starts its own spend.
        fresh.spend = Set(0.0);
        fresh.spend_picos = Set(0);
        apply_spec(&request.spec.unwrap_or_default(), &mut fresh, now)?;
        // Insert a new row: every column is Set, so take all of them.
        let fresh = ActiveModel {
            token: fresh.token,
            ..fresh
        };
        let stored = self.store(fresh, None, true).await?;
        self.respond(&stored, plaintext, Some(retired_token)).await
    }
}
