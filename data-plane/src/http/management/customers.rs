//! `/customer/*` (and LiteLLM's legacy `/end_user/*`): end users.

use super::convert::{row, rows};
use super::org_convert::customer_spec;
use super::request::{Admin, Reply, call, caller, object, required, required_ids, required_param};
use crate::http::AppState;
use crate::http::extract::ApiQuery;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Json;
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
            .route(&format!("{prefix}/delete"), super::post_or_delete(delete))
            .route(&format!("{prefix}/block"), post(block))
            .route(&format!("{prefix}/unblock"), post(unblock))
            .route(&format!("{prefix}/info"), get(info))
            .route(&format!("{prefix}/list"), get(list));
    }
    router
}

async fn new(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = CreateCustomerRequest {
        user_id: required(&body, "user_id")?,
        spec: Some(customer_spec(&body)?),
    };
    let response = call(&app.admin, &headers, request, Admin::create_customer).await?;
    Ok(Json(row(response.customer.as_ref(), customer_json)))
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = UpdateCustomerRequest {
        user_id: required(&body, "user_id")?,
        spec: Some(customer_spec(&body)?),
    };
    let response = call(&app.admin, &headers, request, Admin::update_customer).await?;
    Ok(Json(row(response.customer.as_ref(), customer_json)))
}

async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteCustomersRequest {
        user_ids: required_ids(&body, "user_ids")?,
    };
    let response = call(&app.admin, &headers, request, Admin::delete_customers).await?;
    Ok(Json(json!({
        "deleted_customers": response.deleted_user_ids.len(),
        "message": format!("Successfully deleted customers with ids: {:?}", response.deleted_user_ids),
    })))
}

async fn set_blocked(app: &AppState, headers: &HeaderMap, body: &Bytes, blocked: bool) -> Reply {
    caller(app, headers)?;
    let body = object(body)?;
    let request = SetCustomerBlockedRequest {
        user_ids: required_ids(&body, "user_ids")?,
        blocked,
    };
    let response = call(&app.admin, headers, request, Admin::set_customer_blocked).await?;
    let field = if blocked {
        "blocked_users"
    } else {
        "unblocked_users"
    };
    Ok(Json(
        json!({ field: rows(&response.customers, customer_json) }),
    ))
}

async fn block(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, true).await
}

async fn unblock(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, false).await
}

#[derive(Deserialize)]
struct InfoQuery {
    end_user_id: Option<String>,
}

async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InfoQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let user_id = required_param(query.end_user_id, "end_user_id")?;
    let request = GetCustomerRequest { user_id };
    let response = call(&app.admin, &headers, request, Admin::get_customer).await?;
    Ok(Json(row(response.customer.as_ref(), customer_json)))
}

async fn list(State(app): State<AppState>, headers: HeaderMap) -> Reply {
    caller(&app, &headers)?;
    let request = ListCustomersRequest {};
    let response = call(&app.admin, &headers, request, Admin::list_customers).await?;
    Ok(Json(Value::Array(rows(&response.customers, customer_json))))
}
