//! LiteLLM's user operations over `users`.

use super::convert::{apply_spec, blank_user, user_to_proto};
use crate::db::{KeyFilter, TeamMembers, Teams, UserRow, Users};
use crate::entity_fields::new_id;
use crate::keys::{KeyService, key_to_proto};
use crate::manage_error::{ManageError, is_unique_violation};
use crate::publisher::{Changed, Publisher};
use chrono::Utc;
use sea_orm::{IntoActiveModel, Set};
use std::sync::Arc;
use tollgate_proto::v1::{
    CreateUserRequest, DeleteUsersRequest, DeleteUsersResponse, GenerateKeyRequest,
    ListUsersRequest, ListUsersResponse, UpdateUserRequest, User, UserResponse,
};

pub struct UserService {
    users: Users,
    teams: Teams,
    members: TeamMembers,
    key_service: Arc<KeyService>,
    publisher: Arc<Publisher>,
}

fn user_keys(user_id: &str) -> KeyFilter {
    KeyFilter {
        user_id: Some(user_id.to_string()),
        ..KeyFilter::default()
    }
}

impl UserService {
    pub fn new(
        db: sea_orm::DatabaseConnection,
        key_service: Arc<KeyService>,
        publisher: Arc<Publisher>,
    ) -> Self {
        Self {
            users: Users::new(db.clone()),
            teams: Teams::new(db.clone()),
            members: TeamMembers::new(db),
            key_service,
            publisher,
        }
    }

    pub async fn find(&self, user_id: &str) -> Result<Option<UserRow>, ManageError> {
        Ok(self.users.find(user_id).await?)
    }

    async fn existing(&self, user_id: &str) -> Result<UserRow, ManageError> {
        if user_id.trim().is_empty() {
            return Err(ManageError::invalid("user_id", "is required"));
        }
        self.users.find(user_id).await?.ok_or_else(|| {
            ManageError::NotFound(format!(
                "User not found, passed user_id={user_id}. Check /user/list for existing users."
            ))
        })
    }

    async fn view(&self, row: &UserRow) -> Result<User, ManageError> {
        let teams = self
            .members
            .of_user(&row.user_id)
            .await?
            .into_iter()
            .map(|m| m.team_id)
            .collect();
        Ok(user_to_proto(row, teams))
    }

    /// Nothing is written unless every field and every team is valid; a key
    /// that cannot be created undoes the user.
    pub async fn create(&self, request: CreateUserRequest) -> Result<UserResponse, ManageError> {
        let user_id = match request.user_id.trim() {
            "" => new_id(),
            id => id.to_string(),
        };
        if self.users.find(&user_id).await?.is_some() {
            return Err(ManageError::Conflict(format!(
                "User with id {user_id} already exists. Use /user/update to change it."
            )));
        }
        let now = Utc::now();
        let mut row = blank_user(user_id.clone(), None, now);
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        for team in &request.teams {
            if self.teams.find(team).await?.is_none() {
                return Err(ManageError::invalid(
                    "teams",
                    format!("team {team} does not exist; create it with /team/new first"),
                ));
            }
        }
        let stored = self.users.insert(row).await.map_err(|e| {
            if is_unique_violation(&e) {
                ManageError::Conflict(format!("User with id {user_id} already exists."))
            } else {
                ManageError::Database(e)
            }
        })?;
        for team in &request.teams {
            self.members.upsert(team, &user_id, "user").await?;
        }
        let (key, plaintext_key, snapshot_version) = if request.auto_create_key {
            let mut spec = request.key_spec.unwrap_or_default();
            spec.user_id = Some(user_id.clone());
            let generated = self
                .key_service
                .generate(GenerateKeyRequest {
                    spec: Some(spec),
                    key: String::new(),
                })
                .await;
            match generated {
                // The key went out with its own publish; the user (its models
                // and limits) goes out now, so both are in force on return.
                Ok(r) => {
                    let changed = Changed::users([user_id.clone()]);
                    let version = self.publisher.publish_changes(&changed).await?;
                    (r.key, r.plaintext_key, version.max(r.snapshot_version))
                }
                Err(e) => {
                    self.members.remove_user(&user_id).await?;
                    self.users.delete(&user_id).await?;
                    return Err(e.into());
                }
            }
        } else {
            let changed = Changed::users([user_id.clone()]);
            (
                None,
                String::new(),
                self.publisher.publish_changes(&changed).await?,
            )
        };
        Ok(UserResponse {
            user: Some(self.view(&stored).await?),
            key,
            plaintext_key,
            keys: Vec::new(),
            snapshot_version,
        })
    }

    pub async fn update(&self, request: UpdateUserRequest) -> Result<UserResponse, ManageError> {
        let existing = self.existing(&request.user_id).await?;
        let now = Utc::now();
        let mut row = existing.into_active_model();
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        row.updated_at = Set(now);
        let stored = self.users.update(row).await?;
        let snapshot_version = self
            .publisher
            .publish_changes(&Changed::users([stored.user_id.clone()]))
            .await?;
        Ok(UserResponse {
            user: Some(self.view(&stored).await?),
            key: None,
            plaintext_key: String::new(),
            keys: Vec::new(),
            snapshot_version,
        })
    }

    /// All or nothing: every user must exist. Their keys are deleted with
    /// them (LiteLLM does the same), then their memberships.
    pub async fn delete(
        &self,
        request: DeleteUsersRequest,
    ) -> Result<DeleteUsersResponse, ManageError> {
        if request.user_ids.is_empty() {
            return Err(ManageError::invalid(
                "user_ids",
                "pass at least one user id",
            ));
        }
        for id in &request.user_ids {
            self.existing(id).await?;
        }
        let mut deleted_keys = Vec::new();
        for id in &request.user_ids {
            deleted_keys.extend(self.key_service.delete_all_of(&user_keys(id)).await?);
            self.members.remove_user(id).await?;
            self.users.delete(id).await?;
        }
        let changed = Changed::users(request.user_ids.iter().cloned())
            .with_keys(deleted_keys.iter().cloned());
        let snapshot_version = self.publisher.publish_changes(&changed).await?;
        Ok(DeleteUsersResponse {
            deleted_user_ids: request.user_ids,
            deleted_keys,
            snapshot_version,
        })
    }

    pub async fn get(&self, user_id: &str) -> Result<UserResponse, ManageError> {
        let row = self.existing(user_id).await?;
        let keys = self
            .key_service
            .all_of(&user_keys(user_id))
            .await?
            .iter()
            .map(key_to_proto)
            .collect();
        Ok(UserResponse {
            user: Some(self.view(&row).await?),
            key: None,
            plaintext_key: String::new(),
            keys,
            snapshot_version: 0,
        })
    }

    pub async fn list(&self, request: ListUsersRequest) -> Result<ListUsersResponse, ManageError> {
        let page = request.page.max(1);
        let size = if request.page_size == 0 {
            25
        } else {
            request.page_size
        };
        if size > 100 {
            return Err(ManageError::invalid(
                "page_size",
                "must be between 1 and 100",
            ));
        }
        let role = Some(request.role.as_str()).filter(|r| !r.is_empty());
        let (rows, total) = self
            .users
            .page(role, u64::from(page), u64::from(size))
            .await?;
        let mut users = Vec::new();
        for row in &rows {
            users.push(self.view(row).await?);
        }
        Ok(ListUsersResponse {
            users,
            total,
            page,
            page_size: size,
            total_pages: u32::try_from(total.div_ceil(u64::from(size))).unwrap_or(u32::MAX),
        })
    }
}
