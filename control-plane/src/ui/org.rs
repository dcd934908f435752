//! Teams, internal users and customers (end users): lists, create, delete.

use super::UiError;
use super::admin::{call, reply};
use super::bad_request;
use super::guard::Authed;
use crate::grpc::AdminService;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_proto::org_json::{customer_json, team_json, user_json};
use tollgate_proto::v1::admin_service_server::AdminService as _;
use tollgate_proto::v1::{
    CreateCustomerRequest, CreateTeamRequest, CreateUserRequest, CustomerSpec,
    DeleteCustomersRequest, DeleteTeamsRequest, DeleteUsersRequest, ListCustomersRequest,
    ListTeamsRequest, ListUsersRequest, StringList, TeamSpec, UserSpec,
};

fn parse<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, UiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid form: {e}.")))
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn teams(
    State(app): State<AppState>,
    Authed(session): Authed,
) -> Result<Response, UiError> {
    let (r, applied) = call(
        &app,
        &session,
        ListTeamsRequest::default(),
        async |s: &AdminService, r| s.list_teams(r).await,
    )
    .await?;
    let teams: Vec<Value> = r
        .teams
        .iter()
        .map(|t| Value::Object(team_json(t)))
        .collect();
    Ok(reply(json!({"teams": teams}), applied))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TeamForm {
    team_alias: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
}

pub async fn create_team(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: TeamForm = parse(&body)?;
    let request = CreateTeamRequest {
        team_id: String::new(),
        spec: Some(TeamSpec {
            team_alias: text(f.team_alias),
            models: f.models.map(|values| StringList { values }),
            max_budget: f.max_budget,
            budget_duration: text(f.budget_duration),
            rpm_limit: f.rpm_limit,
            tpm_limit: f.tpm_limit,
            ..TeamSpec::default()
        }),
        members: Vec::new(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.create_team(r).await
    })
    .await?;
    Ok(reply(
        Value::Object(r.team.as_ref().map(team_json).unwrap_or_default()),
        applied,
    ))
}

pub async fn delete_team(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let request = DeleteTeamsRequest { team_ids: vec![id] };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.delete_teams(r).await
    })
    .await?;
    Ok(reply(
        json!({"deleted_team_ids": r.deleted_team_ids, "deleted_keys": r.deleted_keys}),
        applied,
    ))
}

#[derive(Deserialize)]
pub struct Page {
    page: Option<u32>,
    size: Option<u32>,
}

pub async fn users(
    State(app): State<AppState>,
    Authed(session): Authed,
    Query(p): Query<Page>,
) -> Result<Response, UiError> {
    let request = ListUsersRequest {
        page: p.page.unwrap_or(1).max(1),
        page_size: p.size.unwrap_or(50).clamp(1, super::keys::MAX_PAGE_SIZE),
        role: String::new(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.list_users(r).await
    })
    .await?;
    let users: Vec<Value> = r
        .users
        .iter()
        .map(|u| Value::Object(user_json(u)))
        .collect();
    Ok(reply(
        json!({"users": users, "total": r.total, "page": r.page, "page_size": r.page_size, "total_pages": r.total_pages}),
        applied,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserForm {
    user_id: Option<String>,
    user_email: Option<String>,
    user_role: Option<String>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
}

pub async fn create_user(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: UserForm = parse(&body)?;
    let request = CreateUserRequest {
        user_id: text(f.user_id).unwrap_or_default(),
        spec: Some(UserSpec {
            user_email: text(f.user_email),
            user_role: text(f.user_role),
            max_budget: f.max_budget,
            budget_duration: text(f.budget_duration),
            ..UserSpec::default()
        }),
        teams: Vec::new(),
        // The dashboard creates keys on the Keys page, shown once there.
        auto_create_key: false,
        key_spec: None,
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.create_user(r).await
    })
    .await?;
    Ok(reply(
        Value::Object(r.user.as_ref().map(user_json).unwrap_or_default()),
        applied,
    ))
}

pub async fn delete_user(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let request = DeleteUsersRequest { user_ids: vec![id] };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.delete_users(r).await
    })
    .await?;
    Ok(reply(
        json!({"deleted_user_ids": r.deleted_user_ids, "deleted_keys": r.deleted_keys}),
        applied,
    ))
}

pub async fn customers(
    State(app): State<AppState>,
    Authed(session): Authed,
) -> Result<Response, UiError> {
    let (r, applied) = call(
        &app,
        &session,
        ListCustomersRequest {},
        async |s: &AdminService, r| s.list_customers(r).await,
    )
    .await?;
    let customers: Vec<Value> = r
        .customers
        .iter()
        .map(|c| Value::Object(customer_json(c)))
        .collect();
    Ok(reply(json!({"customers": customers}), applied))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerForm {
    user_id: Option<String>,
    alias: Option<String>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
}

pub async fn create_customer(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: CustomerForm = parse(&body)?;
    let Some(user_id) = text(f.user_id) else {
        return Err(bad_request("`user_id` is required: the end user's id."));
    };
    let request = CreateCustomerRequest {
        user_id,
        spec: Some(CustomerSpec {
            alias: text(f.alias),
            max_budget: f.max_budget,
            budget_duration: text(f.budget_duration),
            ..CustomerSpec::default()
        }),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.create_customer(r).await
    })
    .await?;
    Ok(reply(
        Value::Object(r.customer.as_ref().map(customer_json).unwrap_or_default()),
        applied,
    ))
}

pub async fn delete_customer(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let request = DeleteCustomersRequest { user_ids: vec![id] };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.delete_customers(r).await
    })
    .await?;
    Ok(reply(
        json!({"deleted_user_ids": r.deleted_user_ids}),
        applied,
    ))
}
