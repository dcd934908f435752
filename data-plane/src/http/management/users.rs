//! `/user/*`: LiteLLM's internal-user management routes.

use super::convert::{boolean, key_json, key_spec, row, rows, string};
use super::org_convert::{user_spec, user_teams};
use super::request::{Admin, Reply, call, caller, object, required, required_ids};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Json;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_proto::org_json::{team_json, user_json};
use tollgate_proto::v1::{
    CreateUserRequest, DeleteUsersRequest, GetUserRequest, ListTeamsRequest, ListUsersRequest,
    UpdateUserRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/user/new", post(new))
        .route("/user/update", post(update))
        .route("/user/delete", super::post_or_delete(delete))
        .route("/user/info", get(info))
        .route("/user/list", get(list))
}

/// LiteLLM's `NewUserResponse`: the auto-created key's fields (`key` shown
/// once) with the user's on top.
async fn new(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let mut key_spec = key_spec(&body)?;
    // These belong to the user, not to its key.
    key_spec.models = None;
    key_spec.max_budget = None;
    key_spec.soft_budget = None;
    key_spec.budget_duration = None;
    key_spec.rpm_limit = None;
    key_spec.tpm_limit = None;
    key_spec.max_parallel_requests = None;
    key_spec.model_rpm_limit = None;
    key_spec.model_tpm_limit = None;
    key_spec.metadata = None;
    key_spec.user_id = None;
    let request = CreateUserRequest {
        user_id: string(&body, "user_id")?.unwrap_or_default(),
        spec: Some(user_spec(&body)?),
        teams: user_teams(&body)?,
        auto_create_key: boolean(&body, "auto_create_key")?.unwrap_or(true),
        key_spec: Some(key_spec),
    };
    let response = call(&app.admin, &headers, request, Admin::create_user).await?;
    let mut out = response.key.as_ref().map(key_json).unwrap_or_default();
    if response.key.is_some() {
        let token = out.get("token").cloned().unwrap_or(Value::Null);
        out.insert("key".into(), Value::String(response.plaintext_key));
        out.insert("token_id".into(), token);
    }
    if let Some(user) = &response.user {
        out.extend(user_json(user));
    }
    Ok(Json(Value::Object(out)))
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = UpdateUserRequest {
        user_id: required(&body, "user_id")?,
        spec: Some(user_spec(&body)?),
    };
    let response = call(&app.admin, &headers, request, Admin::update_user).await?;
    Ok(Json(row(response.user.as_ref(), user_json)))
}

/// Deletes the users with their keys and memberships (as LiteLLM does).
async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteUsersRequest {
        user_ids: required_ids(&body, "user_ids")?,
    };
    let response = call(&app.admin, &headers, request, Admin::delete_users).await?;
    Ok(Json(json!({
        "deleted_users": response.deleted_user_ids,
        "deleted_keys": response.deleted_keys,
    })))
}

#[derive(Deserialize)]
struct InfoQuery {
    user_id: Option<String>,
}

/// Without `user_id`, the caller's own user (LiteLLM).
async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InfoQuery>,
) -> Reply {
    let me = caller(&app, &headers)?;
    let user_id = query
        .user_id
        .filter(|u| !u.is_empty())
        .or_else(|| me.key.as_ref().and_then(|k| k.user_id.clone()))
        .ok_or_else(|| ApiError::bad_request("`user_id` is required.", Some("user_id")))?;
    let request = GetUserRequest {
        user_id: user_id.clone(),
    };
    let response = call(&app.admin, &headers, request, Admin::get_user).await?;
    let request = ListTeamsRequest {
        user_id: user_id.clone(),
    };
    let teams = call(&app.admin, &headers, request, Admin::list_teams)
        .await?
        .teams;
    Ok(Json(json!({
        "user_id": user_id,
        "user_info": response.user.as_ref().map(|u| Value::Object(user_json(u))),
        "keys": rows(&response.keys, key_json),
        "teams": rows(&teams, team_json),
    })))
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<u32>,
    page_size: Option<u32>,
    role: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let request = ListUsersRequest {
        page: query.page.unwrap_or(1),
        page_size: query.page_size.unwrap_or(25),
        role: query.role.unwrap_or_default(),
    };
    let response = call(&app.admin, &headers, request, Admin::list_users).await?;
    Ok(Json(json!({
        "users": rows(&response.users, user_json),
        "total": response.total,
        "page": response.page,
        "page_size": response.page_size,
        "total_pages": response.total_pages,
    })))
}
