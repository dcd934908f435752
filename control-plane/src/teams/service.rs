//! LiteLLM's team operations over `teams` and `team_members`.

use super::TEAM_ROLES;
use super::convert::{apply_spec, blank, team_to_proto};
use crate::db::{KeyFilter, TeamMemberRow, TeamMembers, TeamRow, Teams, Users};
use crate::entity_fields::new_id;
use crate::keys::{KeyService, key_to_proto};
use crate::manage_error::{ManageError, is_unique_violation};
use crate::publisher::{Changed, Publisher};
use chrono::Utc;
use sea_orm::{IntoActiveModel, Set};
use std::collections::HashMap;
use std::sync::Arc;
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateTeamRequest, DeleteTeamsRequest, DeleteTeamsResponse, Key,
    ListTeamsRequest, ListTeamsResponse, RemoveTeamMemberRequest, Team, TeamMember, TeamResponse,
    UpdateTeamRequest,
};

pub struct TeamService {
    teams: Teams,
    members: TeamMembers,
    users: Users,
    key_service: Arc<KeyService>,
    publisher: Arc<Publisher>,
}

/// A member to add, once its user is known.
struct Resolved {
    user_id: String,
    role: String,
    /// Set when the user does not exist yet (LiteLLM creates it).
    create_with_email: Option<Option<String>>,
}

fn team_keys(team_id: &str) -> KeyFilter {
    KeyFilter {
        team_id: Some(team_id.to_string()),
        ..KeyFilter::default()
    }
}

impl TeamService {
    pub fn new(
        db: sea_orm::DatabaseConnection,
        key_service: Arc<KeyService>,
        publisher: Arc<Publisher>,
    ) -> Self {
        Self {
            teams: Teams::new(db.clone()),
            members: TeamMembers::new(db.clone()),
            users: Users::new(db),
            key_service,
            publisher,
        }
    }

    pub async fn exists(&self, team_id: &str) -> Result<bool, ManageError> {
        Ok(self.teams.find(team_id).await?.is_some())
    }

    /// The caller's team role, for the admin service's checks.
    pub async fn role_of(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, ManageError> {
        Ok(self.members.find(team_id, user_id).await?.map(|m| m.role))
    }

    async fn existing(&self, team_id: &str) -> Result<TeamRow, ManageError> {
        if team_id.trim().is_empty() {
            return Err(ManageError::invalid("team_id", "is required"));
        }
        self.teams.find(team_id).await?.ok_or_else(|| {
            ManageError::NotFound(format!(
                "Team not found, passed team_id={team_id}. Check /team/list for existing teams."
            ))
        })
    }

    async fn check_alias(&self, alias: Option<&str>, own: &str) -> Result<(), ManageError> {
        let Some(alias) = alias else { return Ok(()) };
        match self.teams.find_by_alias(alias).await? {
            Some(other) if other.team_id != own => Err(ManageError::Conflict(format!(
                "team_alias `{alias}` is already used by team {}; aliases must be unique",
                other.team_id
            ))),
            _ => Ok(()),
        }
    }

    async fn view(&self, row: &TeamRow) -> Result<Team, ManageError> {
        let members = self.members.of_team(&row.team_id).await?;
        let mut emails = HashMap::new();
        for m in &members {
            if let Some(email) = self
                .users
                .find(&m.user_id)
                .await?
                .and_then(|u| u.user_email)
            {
                emails.insert(m.user_id.clone(), email);
            }
        }
        Ok(team_to_proto(row, &members, &emails))
    }

    async fn respond(&self, row: &TeamRow) -> Result<TeamResponse, ManageError> {
        self.respond_with(row, Vec::new()).await
    }

    /// Publishes the team (and users created with it) and answers.
    async fn respond_with(
        &self,
        row: &TeamRow,
        created_users: Vec<String>,
    ) -> Result<TeamResponse, ManageError> {
        let mut changed = Changed::teams([row.team_id.clone()]);
        changed.users = created_users;
        let snapshot_version = self.publisher.publish_changes(&changed).await?;
        Ok(TeamResponse {
            team: Some(self.view(row).await?),
            keys: Vec::new(),
            snapshot_version,
        })
    }

    /// Validates every member before anything is written.
    async fn resolve(&self, members: &[TeamMember]) -> Result<Vec<Resolved>, ManageError> {
        let mut out = Vec::new();
        for m in members {
            let role = if m.role.is_empty() {
                "user"
            } else {
                m.role.as_str()
            };
            if !TEAM_ROLES.contains(&role) {
                return Err(ManageError::invalid(
                    "role",
                    format!("must be `admin` or `user`, got `{role}`"),
                ));
            }
            let (user_id, email) = (m.user_id.trim(), m.user_email.trim());
            let resolved = if !user_id.is_empty() {
                let known = self.users.find(user_id).await?.is_some();
                Resolved {
                    user_id: user_id.to_string(),
                    role: role.to_string(),
                    create_with_email: (!known)
                        .then(|| Some(email.to_string()).filter(|e| !e.is_empty())),
                }
            } else if !email.is_empty() {
                match self.users.find_by_email(email).await? {
                    Some(u) => Resolved {
                        user_id: u.user_id,
                        role: role.to_string(),
                        create_with_email: None,
                    },
                    None => Resolved {
                        user_id: new_id(),
                        role: role.to_string(),
                        create_with_email: Some(Some(email.to_string())),
                    },
                }
            } else {
                return Err(ManageError::invalid(
                    "member",
                    "each member needs a `user_id` or a `user_email`",
                ));
            };
            out.push(resolved);
        }
        Ok(out)
    }

    /// Adds the members; returns the users it had to create (they go out
    /// with the team's publish).
    async fn add(
        &self,
        team_id: &str,
        resolved: Vec<Resolved>,
    ) -> Result<Vec<String>, ManageError> {
        let mut created = Vec::new();
        for r in resolved {
            if let Some(email) = r.create_with_email {
                created.push(r.user_id.clone());
                self.users
                    .insert(crate::users::blank_user(
                        r.user_id.clone(),
                        email,
                        Utc::now(),
                    ))
                    .await?;
            }
            self.members.upsert(team_id, &r.user_id, &r.role).await?;
        }
        Ok(created)
    }

    pub async fn create(&self, request: CreateTeamRequest) -> Result<TeamResponse, ManageError> {
        let team_id = match request.team_id.trim() {
            "" => new_id(),
            id => id.to_string(),
        };
        if self.teams.find(&team_id).await?.is_some() {
            return Err(ManageError::Conflict(format!(
                "Team id = {team_id} already exists. Please use a different team id."
            )));
        }
        let now = Utc::now();
        let mut row = blank(team_id.clone(), now);
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        let alias = match &row.team_alias {
            Set(a) => a.clone(),
            _ => None,
        };
        self.check_alias(alias.as_deref(), &team_id).await?;
        let resolved = self.resolve(&request.members).await?;
        let stored = self.teams.insert(row).await.map_err(|e| {
            if is_unique_violation(&e) {
                ManageError::Conflict("team_id or team_alias already exists".into())
            } else {
                ManageError::Database(e)
            }
        })?;
        let created = self.add(&team_id, resolved).await?;
        self.respond_with(&stored, created).await
    }

    pub async fn update(&self, request: UpdateTeamRequest) -> Result<TeamResponse, ManageError> {
        let existing = self.existing(&request.team_id).await?;
        let team_id = existing.team_id.clone();
        let now = Utc::now();
        let mut row = existing.into_active_model();
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        if let Set(alias) = &row.team_alias {
            self.check_alias(alias.as_deref(), &team_id).await?;
        }
        row.updated_at = Set(now);
        let stored = self.teams.update(row).await.map_err(|e| {
            if is_unique_violation(&e) {
                ManageError::Conflict("team_alias already exists".into())
            } else {
                ManageError::Database(e)
            }
        })?;
        self.respond(&stored).await
    }

    pub async fn keys_of(&self, team_id: &str) -> Result<Vec<Key>, ManageError> {
        let rows = self.key_service.all_of(&team_keys(team_id)).await?;
        Ok(rows.iter().map(key_to_proto).collect())
    }

    /// All or nothing: every team must exist. The teams' keys are deleted
    /// first (LiteLLM does the same), so no key outlives its team.
    pub async fn delete(
        &self,
        request: DeleteTeamsRequest,
    ) -> Result<DeleteTeamsResponse, ManageError> {
        if request.team_ids.is_empty() {
            return Err(ManageError::invalid(
                "team_ids",
                "pass at least one team id",
            ));
        }
        for id in &request.team_ids {
            self.existing(id).await?;
        }
        let mut deleted_keys = Vec::new();
        for id in &request.team_ids {
            deleted_keys.extend(self.key_service.delete_all_of(&team_keys(id)).await?);
            self.members.remove_team(id).await?;
            self.teams.delete(id).await?;
        }
        let changed = Changed::teams(request.team_ids.iter().cloned())
            .with_keys(deleted_keys.iter().cloned());
        let snapshot_version = self.publisher.publish_changes(&changed).await?;
        Ok(DeleteTeamsResponse {
            deleted_team_ids: request.team_ids,
            deleted_keys,
            snapshot_version,
        })
    }

    pub async fn get(&self, team_id: &str) -> Result<TeamResponse, ManageError> {
        let row = self.existing(team_id).await?;
        Ok(TeamResponse {
            team: Some(self.view(&row).await?),
            keys: self.keys_of(team_id).await?,
            snapshot_version: 0,
        })
    }

    /// Three queries whatever the number of teams: teams, memberships, emails.
    pub async fn list(&self, request: ListTeamsRequest) -> Result<ListTeamsResponse, ManageError> {
        let mut members: HashMap<String, Vec<TeamMemberRow>> = HashMap::new();
        for m in self.members.all().await? {
            members.entry(m.team_id.clone()).or_default().push(m);
        }
        let emails: HashMap<String, String> = self
            .users
            .all()
            .await?
            .into_iter()
            .filter_map(|u| u.user_email.map(|e| (u.user_id, e)))
            .collect();
        let is_listed = |team: &TeamRow| {
            request.user_id.is_empty()
                || members
                    .get(&team.team_id)
                    .is_some_and(|ms| ms.iter().any(|m| m.user_id == request.user_id))
        };
        let teams = self
            .teams
            .all()
            .await?
            .iter()
            .filter(|t| is_listed(t))
            .map(|t| {
                let ms = members.get(&t.team_id).map_or(&[][..], Vec::as_slice);
                team_to_proto(t, ms, &emails)
            })
            .collect();
        Ok(ListTeamsResponse { teams })
    }

    pub async fn add_members(
        &self,
        request: AddTeamMemberRequest,
    ) -> Result<TeamResponse, ManageError> {
        let row = self.existing(&request.team_id).await?;
        if request.members.is_empty() {
            return Err(ManageError::invalid("member", "pass at least one member"));
        }
        let resolved = self.resolve(&request.members).await?;
        let created = self.add(&row.team_id, resolved).await?;
        self.respond_with(&row, created).await
    }

    pub async fn remove_member(
        &self,
        request: RemoveTeamMemberRequest,
    ) -> Result<TeamResponse, ManageError> {
        let row = self.existing(&request.team_id).await?;
        let user_id = if !request.user_id.is_empty() {
            request.user_id.clone()
        } else if !request.user_email.is_empty() {
            self.users
                .find_by_email(&request.user_email)
                .await?
                .map(|u| u.user_id)
                .ok_or_else(|| {
                    ManageError::NotFound(format!("no user has user_email {}", request.user_email))
                })?
        } else {
            return Err(ManageError::invalid(
                "user_id",
                "pass the member's `user_id` or `user_email`",
            ));
        };
        if !self.members.remove(&row.team_id, &user_id).await? {
            return Err(ManageError::NotFound(format!(
                "user {user_id} is not a member of team {}",
                row.team_id
            )));
        }
        self.respond(&row).await
    }
}
