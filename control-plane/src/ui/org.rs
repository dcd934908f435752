//! Teams, internal users and customers (end users): lists, create, edit,
//! delete; a team's page (its fields, members with roles, keys) and its
//! members added and removed.

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
use tollgate_proto::json::key_json;
use tollgate_proto::org_json::{customer_json, team_json, user_json};
use tollgate_proto::v1::admin_service_server::AdminService as _;
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateCustomerRequest, CreateTeamRequest, CreateUserRequest,
    CustomerSpec, DeleteCustomersRequest, DeleteTeamsRequest, DeleteUsersRequest, GetTeamRequest,
    ListCustomersRequest, ListTeamsRequest, ListUsersRequest, RemoveTeamMemberRequest, StringList,
    TeamMember, TeamResponse, TeamSpec, UpdateCustomerRequest, UpdateTeamRequest,
    UpdateUserRequest, UserSpec,
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
    blocked: Option<bool>,
}

impl TeamForm {
    fn spec(self) -> TeamSpec {
        TeamSpec {
            team_alias: text(self.team_alias),
            models: self.models.map(|values| StringList { values }),
            max_budget: self.max_budget,
            budget_duration: text(self.budget_duration),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            blocked: self.blocked,
            ..TeamSpec::default()
        }
    }
}

pub async fn create_team(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: TeamForm = parse(&body)?;
    let request = CreateTeamRequest {
        team_id: String::new(),
        spec: Some(f.spec()),
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

/// A team's page: its fields with members and roles, and its live keys.
fn team_page(r: &TeamResponse) -> Value {
    let mut team = r.team.as_ref().map(team_json).unwrap_or_default();
    team.insert(
        "keys".into(),
        Value::Array(r.keys.iter().map(|k| Value::Object(key_json(k))).collect()),
    );
    Value::Object(team)
}

pub async fn team(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let request = GetTeamRequest { team_id: id };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.get_team(r).await
    })
    .await?;
    Ok(reply(team_page(&r), applied))
}

/// Absent fields are left as they are; `models: []` is every model.
pub async fn update_team(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: TeamForm = parse(&body)?;
    let request = UpdateTeamRequest {
        team_id: id,
        spec: Some(f.spec()),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.update_team(r).await
    })
    .await?;
    Ok(reply(
        Value::Object(r.team.as_ref().map(team_json).unwrap_or_default()),
        applied,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberForm {
    user_id: Option<String>,
    user_email: Option<String>,
    /// `admin` or `user` (the default).
    role: Option<String>,
}

pub async fn add_member(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: MemberForm = parse(&body)?;
    let (user_id, user_email) = (text(f.user_id), text(f.user_email));
    if user_id.is_none() && user_email.is_none() {
        return Err(bad_request(
            "Name the member: `user_id` or `user_email` (an unknown user is created).",
        ));
    }
    let request = AddTeamMemberRequest {
        team_id: id,
        members: vec![TeamMember {
            user_id: user_id.unwrap_or_default(),
            user_email: user_email.unwrap_or_default(),
            role: text(f.role).unwrap_or_default(),
        }],
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.add_team_member(r).await
    })
    .await?;
    Ok(reply(
        Value::Object(r.team.as_ref().map(team_json).unwrap_or_default()),
        applied,
    ))
}

pub async fn remove_member(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let request = RemoveTeamMemberRequest {
        team_id: id,
        user_id,
        user_email: String::new(),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.remove_team_member(r).await
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
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
}

pub async fn create_user(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: UserForm = parse(&body)?;
    let request = CreateUserRequest {
        user_id: text(f.user_id.clone()).unwrap_or_default(),
        spec: Some(f.spec()),
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

impl UserForm {
    fn spec(self) -> UserSpec {
        UserSpec {
            user_email: text(self.user_email),
            user_role: text(self.user_role),
            models: self.models.map(|values| StringList { values }),
            max_budget: self.max_budget,
            budget_duration: text(self.budget_duration),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            ..UserSpec::default()
        }
    }
}

/// Absent fields are left as they are; `user_id` in the form is ignored
/// (the path names the user).
pub async fn update_user(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: UserForm = parse(&body)?;
    let request = UpdateUserRequest {
        user_id: id,
        spec: Some(f.spec()),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.update_user(r).await
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
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
    blocked: Option<bool>,
}

impl CustomerForm {
    fn spec(self) -> CustomerSpec {
        CustomerSpec {
            alias: text(self.alias),
            max_budget: self.max_budget,
            budget_duration: text(self.budget_duration),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            blocked: self.blocked,
            ..CustomerSpec::default()
        }
    }
}

pub async fn create_customer(
    State(app): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: CustomerForm = parse(&body)?;
    let Some(user_id) = text(f.user_id.clone()) else {
        return Err(bad_request("`user_id` is required: the end user's id."));
    };
    let request = CreateCustomerRequest {
        user_id,
        spec: Some(f.spec()),
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

/// Absent fields are left as they are; `user_id` in the form is ignored.
pub async fn update_customer(
    State(app): State<AppState>,
    Authed(session): Authed,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let f: CustomerForm = parse(&body)?;
    let request = UpdateCustomerRequest {
        user_id: id,
        spec: Some(f.spec()),
    };
    let (r, applied) = call(&app, &session, request, async |s: &AdminService, r| {
        s.update_customer(r).await
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
