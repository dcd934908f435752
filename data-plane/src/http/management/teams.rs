//! `/team/*`: LiteLLM's team management routes.

use super::convert::{key_json, row, rows, string};
use super::org_convert::{members, team_spec};
use super::request::{
    Admin, Reply, Result, call, caller, object, required, required_ids, required_param,
};
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
use tollgate_proto::org_json::{member_json, team_json};
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateTeamRequest, DeleteTeamsRequest, GetTeamRequest, ListTeamsRequest,
    RemoveTeamMemberRequest, TeamResponse, TeamSpec, UpdateTeamRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/team/new", post(new))
        .route("/team/update", post(update))
        .route("/team/delete", super::post_or_delete(delete))
        .route("/team/info", get(info))
        .route("/team/list", get(list))
        .route("/team/member_add", post(member_add))
        .route("/team/member_delete", post(member_delete))
        .route("/team/block", post(block))
        .route("/team/unblock", post(unblock))
}

fn team_row(response: &TeamResponse) -> Value {
    row(response.team.as_ref(), team_json)
}

async fn new(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = CreateTeamRequest {
        team_id: string(&body, "team_id")?.unwrap_or_default(),
        spec: Some(team_spec(&body)?),
        members: members(&body, "members_with_roles")?,
    };
    let response = call(&app.admin, &headers, request, Admin::create_team).await?;
    Ok(Json(team_row(&response)))
}

async fn change(
    app: &AppState,
    headers: &HeaderMap,
    team_id: String,
    spec: TeamSpec,
) -> Result<TeamResponse> {
    caller(app, headers)?;
    let request = UpdateTeamRequest {
        team_id,
        spec: Some(spec),
    };
    call(&app.admin, headers, request, Admin::update_team).await
}

async fn update(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = object(&body)?;
    let team_id = required(&body, "team_id")?;
    let response = change(&app, &headers, team_id.clone(), team_spec(&body)?).await?;
    Ok(Json(
        json!({"team_id": team_id, "data": team_row(&response)}),
    ))
}

async fn set_blocked(app: &AppState, headers: &HeaderMap, body: &Bytes, blocked: bool) -> Reply {
    let body = object(body)?;
    let team_id = required(&body, "team_id")?;
    let spec = TeamSpec {
        blocked: Some(blocked),
        ..TeamSpec::default()
    };
    let response = change(app, headers, team_id, spec).await?;
    Ok(Json(team_row(&response)))
}

async fn block(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, true).await
}

async fn unblock(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    set_blocked(&app, &headers, &body, false).await
}

/// Deletes the teams and their keys (as LiteLLM does).
async fn delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = DeleteTeamsRequest {
        team_ids: required_ids(&body, "team_ids")?,
    };
    let response = call(&app.admin, &headers, request, Admin::delete_teams).await?;
    Ok(Json(json!({
        "deleted_teams": response.deleted_team_ids,
        "deleted_keys": response.deleted_keys,
    })))
}

#[derive(Deserialize)]
struct InfoQuery {
    team_id: Option<String>,
}

async fn info(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InfoQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let team_id = required_param(query.team_id, "team_id")?;
    let request = GetTeamRequest {
        team_id: team_id.clone(),
    };
    let response = call(&app.admin, &headers, request, Admin::get_team).await?;
    let memberships: Vec<Value> = response
        .team
        .iter()
        .flat_map(|t| t.members.iter())
        .map(|m| {
            json!({"user_id": m.user_id, "team_id": team_id, "spend": 0.0,
                   "budget_id": null, "litellm_budget_table": null})
        })
        .collect();
    Ok(Json(json!({
        "team_id": team_id,
        "team_info": team_row(&response),
        "keys": rows(&response.keys, key_json),
        "team_memberships": memberships,
    })))
}

#[derive(Deserialize)]
struct ListQuery {
    user_id: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Reply {
    caller(&app, &headers)?;
    let request = ListTeamsRequest {
        user_id: query.user_id.unwrap_or_default(),
    };
    let response = call(&app.admin, &headers, request, Admin::list_teams).await?;
    Ok(Json(Value::Array(rows(&response.teams, team_json))))
}

async fn member_add(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let added = members(&body, "member")?;
    if added.is_empty() {
        return Err(ApiError::bad_request(
            "`member` is required: {\"role\": \"admin\"|\"user\", \"user_id\": …} or a list of them.",
            Some("member"),
        ));
    }
    let request = AddTeamMemberRequest {
        team_id: required(&body, "team_id")?,
        members: added,
    };
    let response = call(
        &app.admin,
        &headers,
        request.clone(),
        Admin::add_team_member,
    )
    .await?;
    let mut out = response.team.as_ref().map(team_json).unwrap_or_default();
    let added_ids: Vec<&str> = request.members.iter().map(|m| m.user_id.as_str()).collect();
    let updated: Vec<Value> = response
        .team
        .iter()
        .flat_map(|t| t.members.iter())
        .filter(|m| {
            added_ids.contains(&m.user_id.as_str())
                || request
                    .members
                    .iter()
                    .any(|r| !r.user_email.is_empty() && r.user_email == m.user_email)
        })
        .map(member_json)
        .collect();
    out.insert("updated_users".into(), Value::Array(updated.clone()));
    out.insert(
        "updated_team_memberships".into(),
        Value::Array(
            updated
                .iter()
                .map(|m| json!({"user_id": m["user_id"], "team_id": request.team_id, "budget_id": null}))
                .collect(),
        ),
    );
    Ok(Json(Value::Object(out)))
}

async fn member_delete(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    caller(&app, &headers)?;
    let body = object(&body)?;
    let request = RemoveTeamMemberRequest {
        team_id: required(&body, "team_id")?,
        user_id: string(&body, "user_id")?.unwrap_or_default(),
        user_email: string(&body, "user_email")?.unwrap_or_default(),
    };
    if request.user_id.is_empty() && request.user_email.is_empty() {
        return Err(ApiError::bad_request(
            "`user_id` or `user_email` is required.",
            Some("user_id"),
        ));
    }
    let response = call(&app.admin, &headers, request, Admin::remove_team_member).await?;
    Ok(Json(team_row(&response)))
}
