//! Keys: the server-paginated list (one request per page, `size ≤ 100`,
//! keyset cursors so page 1,000 costs what page 1 does),
//! create (the key shown once), edit, block/unblock, regenerate, delete —
//! each write answered with `x-tollgate-applied` from the fleet.

use super::UiError;
use super::admin::{Applied, call, reply};
use super::bad_request;
use super::guard::Authed;
use crate::grpc::AdminService;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tollgate_proto::json::{from_json, key_json};
use tollgate_proto::v1::admin_service_server::AdminService as _;
use tollgate_proto::v1::{
    DeleteKeysRequest, GenerateKeyRequest, KeyRef, KeyResponse, KeySpec, ListKeysRequest,
    RegenerateKeyRequest, SetKeyBlockedRequest, StringList, UpdateKeyRequest,
};

pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Deserialize)]
pub struct ListQuery {
    /// A `next_after` / `prev_before` of an earlier page (keyset paging);
    /// neither: the first page.
    after: Option<String>,
    before: Option<String>,
    /// Refused past 1: this list pages by cursor.
    page: Option<u32>,
    size: Option<u32>,
    key_alias: Option<String>,
    team_id: Option<String>,
    user_id: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    Authed(session): Authed,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let size = q.size.unwrap_or(50).clamp(1, MAX_PAGE_SIZE);
    if q.page.is_some_and(|p| p > 1) {
        return Err(bad_request(
            "`page`: this list pages by cursor: pass the `next_after` (or `prev_before`) of the \
             page you have as `after` (or `before`).",
        ));
    }
    let request = ListKeysRequest {
        page: 1,
        size,
        user_id: q.user_id.unwrap_or_default(),
        team_id: q.team_id.unwrap_or_default(),
        key_alias: q.key_alias.unwrap_or_default(),
        include_deleted: false,
        after: q.after.unwrap_or_default(),
        before: q.before.unwrap_or_default(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.list_keys(r).await
    })
    .await?;
    let keys: Vec<Value> = r.keys.iter().map(|k| Value::Object(key_json(k))).collect();
    Ok(reply(
        json!({
            "keys": keys,
            "total_count": r.total_count,
            "page_size": size,
            "next_after": r.next_after,
            "prev_before": r.prev_before,
        }),
        applied,
    ))
}

/// The create and edit form. Absent fields are left as they are.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyForm {
    key_alias: Option<String>,
    models: Option<Vec<String>>,
    team_id: Option<String>,
    user_id: Option<String>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    duration: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
    metadata: Option<Map<String, Value>>,
}

fn form(body: &Bytes) -> Result<KeyForm, UiError> {
    if body.is_empty() {
        return Ok(KeyForm::default());
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid key form: {e}.")))
}

impl KeyForm {
    fn spec(self) -> KeySpec {
        let text = |v: Option<String>| v.map(|s| s.trim().to_string());
        KeySpec {
            key_alias: text(self.key_alias),
            models: self.models.map(|values| StringList { values }),
            max_budget: self.max_budget,
            budget_duration: text(self.budget_duration).filter(|s| !s.is_empty()),
            duration: text(self.duration).filter(|s| !s.is_empty()),
            team_id: text(self.team_id).filter(|s| !s.is_empty()),
            user_id: text(self.user_id).filter(|s| !s.is_empty()),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            metadata: self.metadata.and_then(|m| from_json(&Value::Object(m))),
            ..KeySpec::default()
        }
    }
}

/// The answer of create and regenerate: the stored fields plus the new key,
/// this once.
fn with_plaintext(r: &KeyResponse) -> Value {
    let mut out = r.key.as_ref().map(key_json).unwrap_or_default();
    out.insert("key".into(), Value::String(r.plaintext_key.clone()));
    Value::Object(out)
}

fn stored(r: &KeyResponse) -> Value {
    Value::Object(r.key.as_ref().map(key_json).unwrap_or_default())
}

pub async fn create(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let request = GenerateKeyRequest {
        spec: Some(form(&body)?.spec()),
        key: String::new(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.generate_key(r).await
    })
    .await?;
    Ok(reply(with_plaintext(&r), applied))
}

pub async fn info(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let (r, applied) = call(
        &app,
        &session,
        KeyRef { key: token },
        async |s: &AdminService, r| s.get_key(r).await,
    )
    .await?;
    Ok(reply(stored(&r), applied))
}

pub async fn update(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let request = UpdateKeyRequest {
        key: Some(KeyRef { key: token }),
        spec: Some(form(&body)?.spec()),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.update_key(r).await
    })
    .await?;
    Ok(reply(stored(&r), applied))
}

async fn set_blocked(
    app: AppState,
    session: super::session::Session,
    token: String,
    blocked: bool,
) -> Result<(KeyResponse, Applied), UiError> {
    let request = SetKeyBlockedRequest {
        key: Some(KeyRef { key: token }),
        blocked,
    };
    call(&app, &session, request, async |s: &AdminService, r| {
        s.set_key_blocked(r).await
    })
    .await
}

pub async fn block(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let (r, applied) = set_blocked(app, session, token, true).await?;
    Ok(reply(stored(&r), applied))
}

pub async fn unblock(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let (r, applied) = set_blocked(app, session, token, false).await?;
    Ok(reply(stored(&r), applied))
}

pub async fn regenerate(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let request = RegenerateKeyRequest {
        key: Some(KeyRef { key: token }),
        new_key: String::new(),
        spec: None,
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.regenerate_key(r).await
    })
    .await?;
    Ok(reply(with_plaintext(&r), applied))
}

pub async fn delete(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let request = DeleteKeysRequest {
        keys: vec![token],
        key_aliases: Vec::new(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.delete_keys(r).await
    })
    .await?;
    Ok(reply(json!({"deleted_keys": r.deleted_keys}), applied))
}
