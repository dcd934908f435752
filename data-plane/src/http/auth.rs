//! Who is calling: the key from any header LiteLLM accepts, checked by hash
//! against the snapshot.

use super::error::ApiError;
use crate::runtime::Runtime;
use axum::http::{HeaderMap, StatusCode, header};
use std::sync::Arc;
use tollgate_shared::keys::{KeyHash, abbreviate};
use tollgate_shared::snapshot::{Team, User, VirtualKey};

/// Checked after `Authorization`, in LiteLLM's order.
const KEY_HEADERS: [&str; 5] = [
    "x-litellm-api-key",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
];

pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let key = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        if !key.is_empty() {
            return Some(key);
        }
    }
    KEY_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .find(|k| !k.is_empty())
}

/// The header LiteLLM reads an end user (customer) id from, besides the
/// request body's `user` field.
const END_USER_HEADER: &str = "x-litellm-end-user-id";

/// Who is calling, as far as the request path needs to know.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_hash: KeyHash,
    /// `None` for the master key (proxy admin).
    pub key: Option<Arc<VirtualKey>>,
    /// The key's team and user, when the snapshot has them.
    pub team: Option<Arc<Team>>,
    pub user: Option<Arc<User>>,
    /// `x-litellm-end-user-id`, checked with the model.
    pub end_user: Option<String>,
}

/// `all-proxy-models` in a `models` list means every model (LiteLLM); in a
/// key's list `all-team-models` means "what the team may use".
const ALL_MODELS: &str = "all-proxy-models";
const ALL_TEAM_MODELS: &str = "all-team-models";

/// A restricting list, or `None` when it allows every model.
fn restricting(models: &[String]) -> Option<&[String]> {
    Some(models)
        .filter(|m| !m.is_empty() && !m.iter().any(|x| x == ALL_MODELS || x == ALL_TEAM_MODELS))
}

/// One error type whichever list refuses (clients match on
/// `key_model_access_denied`); the message names the list.
fn access_denied(kind: &str, allowed: &[String], model: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::FORBIDDEN,
        "key_model_access_denied",
        format!(
            "{kind} not allowed to access model. This {kind} can only access models={allowed:?}. Tried to access {model}"
        ),
    );
    e.body.error.param = Some("model".into());
    e
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.key.is_none()
    }

    /// The lists that restrict this caller, named by whose they are: the
    /// effective list is their intersection (LiteLLM checks each in turn).
    fn restrictions(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        let key = self.key.as_deref().and_then(|k| restricting(&k.models));
        let team = self.team.as_deref().and_then(|t| restricting(&t.models));
        let user = self.user.as_deref().and_then(|u| restricting(&u.models));
        [("key", key), ("team", team), ("user", user)]
            .into_iter()
            .filter_map(|(kind, list)| list.map(|l| (kind, l)))
    }

    /// May this caller see `model` (in `/v1/models`)?
    pub fn may_use(&self, model: &str) -> bool {
        self.restrictions()
            .all(|(_, allowed)| allowed.iter().any(|m| m == model))
    }

    /// Is the caller limited at all (`false` = every model)?
    pub fn is_restricted(&self) -> bool {
        self.restrictions().next().is_some()
    }

    /// May this caller use `model`? 403 `key_model_access_denied` naming
    /// the list that refuses it (the key's, its team's or its user's), and 400 for a
    /// blocked end user named by header, before anything is sent upstream.
    pub fn authorize_model(&self, runtime: &Runtime, model: &str) -> Result<(), ApiError> {
        if let Some((kind, allowed)) = self
            .restrictions()
            .find(|(_, allowed)| !allowed.iter().any(|m| m == model))
        {
            return Err(access_denied(kind, allowed, model));
        }
        match &self.end_user {
            Some(end_user) => check_end_user(runtime, end_user),
            None => Ok(()),
        }
    }

    /// The request body's `user` (an end user): refused if blocked.
    pub fn authorize_end_user(
        &self,
        runtime: &Runtime,
        end_user: Option<&str>,
    ) -> Result<(), ApiError> {
        end_user.map_or(Ok(()), |u| check_end_user(runtime, u))
    }

    /// The key's model alias for `model`, if it has one.
    pub fn alias<'a>(&'a self, model: &'a str) -> &'a str {
        self.key
            .as_ref()
            .and_then(|k| k.aliases.get(model))
            .map_or(model, String::as_str)
    }
}

/// A blocked customer is refused with LiteLLM's 400 (its blocked-user check
/// answers `User blocked from making LLM API Calls. User=<id>`).
pub fn check_end_user(runtime: &Runtime, end_user: &str) -> Result<(), ApiError> {
    match runtime.customer(end_user) {
        Some(c) if c.blocked => Err(ApiError::bad_request(
            format!("User blocked from making LLM API Calls. User={end_user}"),
            None,
        )),
        _ => Ok(()),
    }
}

fn end_user_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(END_USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The caller, or the 401 LiteLLM would give.
/// Who is calling (see [`authenticate_caller`]); the decision is an event
/// on the request's span: result, key alias, team, user — never the key.
/// The runtime being served and who is calling, for the read-only routes:
/// 503 before any snapshot, else `authenticate`'s verdict.
pub fn served_caller(
    app: &super::AppState,
    headers: &HeaderMap,
) -> Result<(std::sync::Arc<Runtime>, Caller), ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let caller = authenticate(headers, &runtime)?;
    Ok((runtime, caller))
}

pub fn authenticate(headers: &HeaderMap, runtime: &Runtime) -> Result<Caller, ApiError> {
    let result = authenticate_caller(headers, runtime);
    match &result {
        Ok(caller) => tracing::trace!(
            tollgate.auth.result = "ok",
            tollgate.key_alias = caller
                .key
                .as_ref()
                .and_then(|k| k.alias.as_deref())
                .unwrap_or(""),
            tollgate.team_id = caller
                .key
                .as_ref()
                .and_then(|k| k.team_id.as_deref())
                .unwrap_or(""),
            tollgate.user_id = caller
                .key
                .as_ref()
                .and_then(|k| k.user_id.as_deref())
                .unwrap_or(""),
            tollgate.master_key = caller.key.is_none(),
            "tollgate.auth"
        ),
        Err(e) => tracing::trace!(tollgate.auth.result = e.kind(), "tollgate.auth"),
    }
    result
}

fn authenticate_caller(headers: &HeaderMap, runtime: &Runtime) -> Result<Caller, ApiError> {
    let Some(key) = presented_key(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Authentication Error, No api key passed in. Pass your key as `Authorization: Bearer sk-...`.",
        ));
    };
    let hash = KeyHash::of(key);
    if runtime.is_master_key(&hash) {
        return Ok(Caller {
            key_hash: hash,
            key: None,
            team: None,
            user: None,
            end_user: end_user_header(headers),
        });
    }
    let Some(virtual_key) = runtime.key(&hash) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_not_found_in_db",
            format!(
                "Authentication Error, Invalid proxy server token passed. Received API Key = {}, Key Hash (Token) ={}. Unable to find token in cache or LiteLLM_VerificationTokenTable",
                abbreviate(key),
                hash.to_hex()
            ),
        ));
    };
    if virtual_key.blocked {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Authentication Error, Key is blocked. Update via /key/unblock if you're an admin.",
        ));
    }
    if let Some(expires) = virtual_key.expires_at_ms {
        let now = chrono::Utc::now();
        if now.timestamp_millis() >= expires {
            let expiry = chrono::DateTime::from_timestamp_millis(expires).unwrap_or(now);
            let mut e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "expired_key",
                format!(
                    "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
                    expiry.to_rfc3339(),
                    now.to_rfc3339()
                ),
            );
            e.body.error.param = Some(abbreviate(key));
            return Err(e);
        }
    }
    let team = virtual_key
        .team_id
        .as_deref()
        .and_then(|t| runtime.team(t))
        .cloned();
    if let Some(team) = team.as_deref().filter(|t| t.blocked) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            format!(
                "Authentication Error, Team={} is blocked. Update via `/team/unblock` if you're an admin.",
                team.team_id
            ),
        ));
    }
    let user = virtual_key
        .user_id
        .as_deref()
        .and_then(|u| runtime.user(u))
        .cloned();
    Ok(Caller {
        key_hash: hash,
        key: Some(Arc::clone(virtual_key)),
        team,
        user,
        end_user: end_user_header(headers),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn every_litellm_header_is_accepted() {
        for name in [
            "authorization",
            "x-api-key",
            "api-key",
            "x-litellm-api-key",
            "x-goog-api-key",
        ] {
            let mut h = HeaderMap::new();
            let value = if name == "authorization" {
                "Bearer sk-1"
            } else {
                "sk-1"
            };
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(presented_key(&h), Some("sk-1"), "{name}");
        }
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("bearer   sk-2 "));
        assert_eq!(presented_key(&h), Some("sk-2"));
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
