//! Who may do what on the AdminService, decided here so the gRPC API and the
//! data plane's HTTP routes (which forward the caller's key) agree.
//!
//! LiteLLM's model: the master key and the keys of `proxy_admin` users may do
//! everything; `proxy_admin_viewer` may read everything; an `internal_user`
//! may create, list and read its own keys; an `internal_user_viewer` may only
//! list and read them; a team member with the team role `admin` may manage
//! that team's members and keys. Everything else is refused.

use super::auth::presented_bearer;
use crate::state::AppState;
use tonic::{Request, Status};

#[derive(Debug, Clone)]
pub enum Principal {
    /// The master key, or a key of a `proxy_admin` user.
    Admin,
    /// A key of a `proxy_admin_viewer` user.
    Viewer,
    /// Any other live virtual key.
    Key {
        token: String,
        user_id: Option<String>,
        /// `internal_user_viewer`: read-only even on its own keys.
        read_only: bool,
    },
}

pub fn denied(message: impl Into<String>) -> Status {
    Status::permission_denied(message.into())
}

impl Principal {
    pub fn reads_everything(&self) -> bool {
        matches!(self, Principal::Admin | Principal::Viewer)
    }

    pub fn require_admin(&self, action: &str) -> Result<(), Status> {
        match self {
            Principal::Admin => Ok(()),
            _ => Err(denied(format!(
                "Only the master key or a proxy_admin user's key may {action}."
            ))),
        }
    }

    pub fn require_reader(&self, action: &str) -> Result<(), Status> {
        if self.reads_everything() {
            Ok(())
        } else {
            Err(denied(format!(
                "Only proxy admins (proxy_admin, proxy_admin_viewer) may {action}."
            )))
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::Key { user_id, .. } => user_id.as_deref(),
            _ => None,
        }
    }
}

/// Authenticates the caller's bearer: the master key, or a live virtual key
/// (not deleted, blocked or expired) and its user's role.
pub async fn principal<T>(state: &AppState, request: &Request<T>) -> Result<Principal, Status> {
    // The dashboard's in-process calls (`ui/`) carry the session's role as
    // an extension; extensions never come from the network, so no remote
    // caller can set one.
    if let Some(who) = request.extensions().get::<Principal>() {
        return Ok(who.clone());
    }
    let presented = presented_bearer(request);
    if state.is_master_key(presented) {
        return Ok(Principal::Admin);
    }
    let unauthenticated = || {
        Status::unauthenticated(
            "admin calls need `authorization: Bearer <key>`: the master key (general_settings.master_key) or a live virtual key whose user may do this",
        )
    };
    let Some(presented) = presented.filter(|p| !p.is_empty()) else {
        return Err(unauthenticated());
    };
    // Only a plaintext key authenticates: its SHA-256 hex is not a credential.
    let token = tollgate_shared::keys::KeyHash::of(presented).to_hex();
    let key = match state.keys.get(&token).await {
        Ok(r) => r.key.ok_or_else(unauthenticated)?,
        Err(_) => return Err(unauthenticated()),
    };
    let expired = key
        .expires
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|e| e <= chrono::Utc::now());
    if key.status != "active" || key.blocked || expired {
        return Err(unauthenticated());
    }
    let role = match &key.user_id {
        Some(user_id) => state
            .users
            .find(user_id)
            .await
            .map_err(Status::from)?
            .map(|u| u.user_role),
        None => None,
    };
    Ok(match role.as_deref() {
        Some("proxy_admin") => Principal::Admin,
        Some("proxy_admin_viewer") => Principal::Viewer,
        other => Principal::Key {
            token,
            user_id: key.user_id.clone(),
            read_only: other == Some("internal_user_viewer"),
        },
    })
}

/// Is the caller an admin of `team_id` (team role `admin`)?
pub async fn is_team_admin(
    state: &AppState,
    who: &Principal,
    team_id: &str,
) -> Result<bool, Status> {
    Ok(team_role(state, who, team_id).await?.as_deref() == Some("admin"))
}

pub async fn is_team_member(
    state: &AppState,
    who: &Principal,
    team_id: &str,
) -> Result<bool, Status> {
    Ok(team_role(state, who, team_id).await?.is_some())
}

/// The caller's role in `team_id`; `None` for a non-member or a caller
/// that is no user (the master key, a key without a user).
async fn team_role(
    state: &AppState,
    who: &Principal,
    team_id: &str,
) -> Result<Option<String>, Status> {
    let Some(user_id) = who.user_id() else {
        return Ok(None);
    };
    state
        .teams
        .role_of(team_id, user_id)
        .await
        .map_err(Status::from)
}
