//! `/key/*`: LiteLLM's key management routes.

use super::convert::{key_json, key_spec, string, strings};
use super::{forwarded, from_status};
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tollgate_proto::v1::{
    DeleteKeysRequest, GenerateKeyRequest, KeyRef, KeyResponse, ListKeysRequest,
    RegenerateKeyRequest, SetKeyBlockedRequest, UpdateKeyRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/key/generate", post(generate))
        .route("/key/update", post(update))
        .route("/key/delete", post(delete))
        .route("/key/info", get(info))
        .route("/key/list", get(list))
        .route("/key/regenerate", post(regenerate))
        .route("/key/{key}/regenerate", post(regenerate_path))
        .route("/key/block", post(block))
        .route("/key/unblock", post(unblock))
}

use super::request::{Result, caller, object, required};

/// `/key/generate` and `/key/regenerate` answer with the new key once, plus
/// the stored fields (LiteLLM's `GenerateKeyResponse`).
fn generated(response: KeyResponse) -> Response {
    let mut out = response.key.as_ref().map(key_json).unwrap_or_default();
    let token = out.get("token").cloned().unwrap_or(Value::Null);
    out.insert("key".into(), Value::String(response.plaintext_key));
    out.insert("token_id".into(), token);
    Json(Value::Object(out)).into_response()
}

async fn generate(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = GenerateKeyRequest {
        spec: Some(key_spec(&body)?),
        key: string(&body, "key")?.unwrap_or_default(),
    };
    let response = app
        .admin
        .clone()
        .generate_key(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?;
    Ok(generated(response.into_inner()))
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let key = required(&body, "key")?;
    let request = UpdateKeyRequest {
        key: Some(KeyRef { key: key.clone() }),
        spec: Some(key_spec(&body)?),
    };
    let response = app
        .admin
        .clone()
        .update_key(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    let mut out = response.key.as_ref().map(key_json).unwrap_or_default();
    out.insert("key".into(), Value::String(key));
    Ok(Json(Value::Object(out)).into_response())
}

async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteKeysRequest {
        keys: strings(&body, "keys")?.unwrap_or_default(),
        key_aliases: strings(&body, "key_aliases")?.unwrap_or_default(),
    };
    let response = app
        .admin
        .clone()
        .delete_keys(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(json!({"deleted_keys": response.deleted_keys})).into_response())
}

#[derive(Deserialize)]
struct InfoQuery {
    key: Option<String>,
}

/// Without `key`, the caller's own key (LiteLLM); the control plane decides
/// who may read which key.
async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<InfoQuery>,
) -> Result<Response> {
    caller(&app, &headers)?;
    let own = crate::http::auth::presented_key(&headers).map(str::to_string);
    let key = match (query.key.filter(|k| !k.is_empty()), own) {
        (Some(k), _) => k,
        (None, Some(own)) => own,
        (None, None) => return Err(ApiError::bad_request("`key` is required.", Some("key"))),
    };
    let response = app
        .admin
        .clone()
        .get_key(forwarded(&headers, KeyRef { key: key.clone() })?)
        .await
        .map_err(from_status)?
        .into_inner();
    let mut info = response.key.as_ref().map(key_json).unwrap_or_default();
    info.remove("token");
    Ok(Json(json!({"key": key, "info": info})).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<u32>,
    size: Option<u32>,
    user_id: Option<String>,
    team_id: Option<String>,
    key_alias: Option<String>,
    return_full_object: Option<bool>,
    status: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    caller(&app, &headers)?;
    let request = ListKeysRequest {
        page: query.page.unwrap_or(1),
        size: query.size.unwrap_or(10),
        user_id: query.user_id.unwrap_or_default(),
        team_id: query.team_id.unwrap_or_default(),
        key_alias: query.key_alias.unwrap_or_default(),
        include_deleted: query.status.as_deref() == Some("deleted"),
    };
    let response = app
        .admin
        .clone()
        .list_keys(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    let keys: Vec<Value> = if query.return_full_object.unwrap_or(false) {
        response
            .keys
            .iter()
            .map(|k| Value::Object(key_json(k)))
            .collect()
    } else {
        response
            .keys
            .iter()
            .map(|k| Value::String(k.token.clone()))
            .collect()
    };
    Ok(Json(json!({
        "keys": keys,
        "total_count": response.total_count,
        "current_page": response.current_page,
        "total_pages": response.total_pages,
    }))
    .into_response())
}

async fn regenerate_with(
    app: &AppState,
    headers: &HeaderMap,
    key: String,
    body: &Map<String, Value>,
) -> Result<Response> {
    caller(app, headers)?;
    let request = RegenerateKeyRequest {
        key: Some(KeyRef { key }),
        new_key: string(body, "new_key")?.unwrap_or_default(),
        spec: Some(key_spec(body)?),
    };
    let response = app
        .admin
        .clone()
        .regenerate_key(forwarded(headers, request)?)
        .await
        .map_err(from_status)?;
    Ok(generated(response.into_inner()))
}

async fn regenerate(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let body = object(&body)?;
    let key = required(&body, "key")?;
    regenerate_with(&app, &headers, key, &body).await
}

async fn regenerate_path(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let body = object(&body)?;
    regenerate_with(&app, &headers, key, &body).await
}

async fn set_blocked(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    blocked: bool,
) -> Result<Response> {
    caller(app, headers)?;
    let body = object(body)?;
    let key = required(&body, "key")?;
    let request = SetKeyBlockedRequest {
        key: Some(KeyRef { key }),
        blocked,
    };
    let response = app
        .admin
        .clone()
        .set_key_blocked(forwarded(headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(Value::Object(
        response.key.as_ref().map(key_json).unwrap_or_default(),
    ))
    .into_response())
}

async fn block(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    set_blocked(&app, &headers, &body, true).await
}

async fn unblock(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    set_blocked(&app, &headers, &body, false).await
}
