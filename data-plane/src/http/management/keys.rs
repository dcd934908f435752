//! `/key/*`: LiteLLM's key management routes.

use super::convert::{key_json, key_spec, row, rows, string, strings};
use super::request::{Admin, Reply, call, caller, object, required};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Json;
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
        .route("/key/delete", super::post_or_delete(delete))
        .route("/key/info", get(info))
        .route("/key/list", get(list))
        .route("/key/regenerate", post(regenerate))
        .route("/key/{key}/regenerate", post(regenerate_path))
        .route("/key/block", post(block))
        .route("/key/unblock", post(unblock))
}

/// `/key/generate` and `/key/regenerate` answer with the new key once, plus
/// the stored fields (LiteLLM's `GenerateKeyResponse`).
fn generated(response: KeyResponse) -> Json<Value> {
    let mut out = response.key.as_ref().map(key_json).unwrap_or_default();
    let token = out.get("token").cloned().unwrap_or(Value::Null);
    out.insert("key".into(), Value::String(response.plaintext_key));
    out.insert("token_id".into(), token);
    Json(Value::Object(out))
}

async fn generate(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = GenerateKeyRequest {
        spec: Some(key_spec(&body)?),
        key: string(&body, "key")?.unwrap_or_default(),
    };
    let response = call(&app.admin, &headers, request, Admin::generate_key).await?;
    Ok(generated(response))
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let key = required(&body, "key")?;
    let request = UpdateKeyRequest {
        key: Some(KeyRef { key: key.clone() }),
        spec: Some(key_spec(&body)?),
    };
    let response = call(&app.admin, &headers, request, Admin::update_key).await?;
    let mut out = response.key.as_ref().map(key_json).unwrap_or_default();
    out.insert("key".into(), Value::String(key));
    Ok(Json(Value::Object(out)))
}

async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteKeysRequest {
        keys: strings(&body, "keys")?.unwrap_or_default(),
        key_aliases: strings(&body, "key_aliases")?.unwrap_or_default(),
    };
    let response = call(&app.admin, &headers, request, Admin::delete_keys).await?;
    Ok(Json(json!({"deleted_keys": response.deleted_keys})))
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
    ApiQuery(query): ApiQuery<InfoQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let own = crate::http::auth::presented_key(&headers).map(str::to_string);
    let key = match (query.key.filter(|k| !k.is_empty()), own) {
        (Some(k), _) => k,
        (None, Some(own)) => own,
        (None, None) => return Err(ApiError::bad_request("`key` is required.", Some("key"))),
    };
    let request = KeyRef { key: key.clone() };
    let response = call(&app.admin, &headers, request, Admin::get_key).await?;
    let mut info = response.key.as_ref().map(key_json).unwrap_or_default();
    info.remove("token");
    Ok(Json(json!({"key": key, "info": info})))
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
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let request = ListKeysRequest {
        page: query.page.unwrap_or(1),
        size: query.size.unwrap_or(10),
        user_id: query.user_id.unwrap_or_default(),
        team_id: query.team_id.unwrap_or_default(),
        key_alias: query.key_alias.unwrap_or_default(),
        include_deleted: query.status.as_deref() == Some("deleted"),
        // LiteLLM's page numbers; cursors are the dashboard's.
        after: String::new(),
        before: String::new(),
    };
    let response = call(&app.admin, &headers, request, Admin::list_keys).await?;
    let keys: Vec<Value> = if query.return_full_object.unwrap_or(false) {
        rows(&response.keys, key_json)
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
    })))
}

async fn regenerate_with(
    app: &AppState,
    headers: &HeaderMap,
    key: String,
    body: &Map<String, Value>,
) -> Reply {
    caller(app, headers)?;
    let request = RegenerateKeyRequest {
        key: Some(KeyRef { key }),
        new_key: string(body, "new_key")?.unwrap_or_default(),
        spec: Some(key_spec(body)?),
    };
    let response = call(&app.admin, headers, request, Admin::regenerate_key).await?;
    Ok(generated(response))
}

async fn regenerate(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = object(&body)?;
    let key = required(&body, "key")?;
    regenerate_with(&app, &headers, key, &body).await
}

async fn regenerate_path(
    State(app): State<AppState>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let body = object(&body)?;
    regenerate_with(&app, &headers, key, &body).await
}

async fn set_blocked(app: &AppState, headers: &HeaderMap, body: &Bytes, blocked: bool) -> Reply {
    caller(app, headers)?;
    let body = object(body)?;
    let key = required(&body, "key")?;
    let request = SetKeyBlockedRequest {
        key: Some(KeyRef { key }),
        blocked,
    };
    let response = call(&app.admin, headers, request, Admin::set_key_blocked).await?;
    Ok(Json(row(response.key.as_ref(), key_json)))
}

async fn block(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, true).await
}

async fn unblock(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, false).await
}
