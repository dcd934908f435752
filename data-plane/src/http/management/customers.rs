//! `/customer/*` (and LiteLLM's legacy `/end_user/*`): end users.

use super::org_convert::customer_spec;
use super::request::{Result, caller, object, required, required_ids};
use super::{forwarded, from_status};
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_proto::org_json::customer_json;
use tollgate_proto::v1::{
    CreateCustomerRequest, DeleteCustomersRequest, GetCustomerRequest, ListCustomersRequest,
    SetCustomerBlockedRequest, UpdateCustomerRequest,
};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/customer", "/end_user"] {
        router = router
            .route(&format!("{prefix}/new"), post(new))
            .route(&format!("{prefix}/update"), post(update))
            .route(&format!("{prefix}/delete"), post(delete))
            .route(&format!("{prefix}/block"), post(block))
            .route(&format!("{prefix}/unblock"), post(unblock))
            .route(&format!("{prefix}/info"), get(info))
            .route(&format!("{prefix}/list"), get(list));
    }
    router
}

async fn new(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = CreateCustomerRequest {
        user_id: required(&body, "user_id")?,
        spec: Some(customer_spec(&body)?),
    };
    let response = app
        .admin
        .clone()
        .create_customer(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(Value::Object(
        response
            .customer
            .as_ref()
            .map(customer_json)
            .unwrap_or_default(),
    ))
    .into_response())
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = UpdateCustomerRequest {
        user_id: required(&body, "user_id")?,
        spec: Some(customer_spec(&body)?),
    };
    let response = app
        .admin
        .clone()
        .update_customer(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(Value::Object(
        response
            .customer
            .as_ref()
            .map(customer_json)
            .unwrap_or_default(),
    ))
    .into_response())
}

async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteCustomersRequest {
        user_ids: required_ids(&body, "user_ids")?,
    };
    let response = app
        .admin
        .clone()
        .delete_customers(forwarded(&headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(json!({
        "deleted_customers": response.deleted_user_ids.len(),
        "message": format!("Successfully deleted customers with ids: {:?}", response.deleted_user_ids),
    }))
    .into_response())
}

async fn set_blocked(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    blocked: bool,
) -> Result<Response> {
    caller(app, headers)?;
    let body = object(body)?;
    let request = SetCustomerBlockedRequest {
        user_ids: required_ids(&body, "user_ids")?,
        blocked,
    };
    let response = app
        .admin
        .clone()
        .set_customer_blocked(forwarded(headers, request)?)
        .await
        .map_err(from_status)?
        .into_inner();
    let rows: Vec<Value> = response
        .customers
        .iter()
        .map(|c| Value::Object(customer_json(c)))
        .collect();
    let field = if blocked {
        "blocked_users"
    } else {
        "unblocked_users"
    };
    Ok(Json(json!({ field: rows })).into_response())
}

async fn block(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    set_blocked(&app, &headers, &body, true).await
}

async fn unblock(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    set_blocked(&app, &headers, &body, false).await
}

#[derive(Deserialize)]
struct InfoQuery {
    end_user_id: Option<String>,
}

async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<InfoQuery>,
) -> Result<Response> {
    caller(&app, &headers)?;
    let user_id = query
        .end_user_id
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("`end_user_id` is required.", Some("end_user_id")))?;
    let response = app
        .admin
        .clone()
        .get_customer(forwarded(&headers, GetCustomerRequest { user_id })?)
        .await
        .map_err(from_status)?
        .into_inner();
    Ok(Json(Value::Object(
        response
            .customer
            .as_ref()
            .map(customer_json)
            .unwrap_or_default(),
    ))
    .into_response())
}

async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Response> {
    caller(&app, &headers)?;
    let response = app
        .admin
        .clone()
        .list_customers(forwarded(&headers, ListCustomersRequest {})?)
        .await
        .map_err(from_status)?
        .into_inner();
    let rows: Vec<Value> = response
        .customers
        .iter()
        .map(|c| Value::Object(customer_json(c)))
        .collect();
    Ok(Json(Value::Array(rows)).into_response())
}
