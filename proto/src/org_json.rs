//! Teams, users and customers as LiteLLM's management API shows them
//! (`LiteLLM_TeamTable`, `LiteLLM_UserTable`, `LiteLLM_EndUserTable`), shared
//! by the data plane's routes and the CLI's `--json`.

use crate::json::to_json;
use crate::v1::{Customer, Team, TeamMember, User};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn metadata(s: &Option<prost_types::Struct>) -> Value {
    s.as_ref().map_or_else(|| json!({}), to_json)
}

pub fn member_json(m: &TeamMember) -> Value {
    json!({
        "user_id": m.user_id,
        "user_email": (!m.user_email.is_empty()).then_some(&m.user_email),
        "role": m.role,
    })
}

pub fn team_json(team: &Team) -> Map<String, Value> {
    let admins: Vec<&str> = team
        .members
        .iter()
        .filter(|m| m.role == "admin")
        .map(|m| m.user_id.as_str())
        .collect();
    let members: Vec<&str> = team.members.iter().map(|m| m.user_id.as_str()).collect();
    object(json!({
        "team_id": team.team_id,
        "team_alias": team.team_alias,
        "organization_id": null,
        "admins": admins,
        "members": members,
        "members_with_roles": team.members.iter().map(member_json).collect::<Vec<_>>(),
        "metadata": metadata(&team.metadata),
        "tpm_limit": team.tpm_limit,
        "rpm_limit": team.rpm_limit,
        "max_parallel_requests": team.max_parallel_requests,
        "model_rpm_limit": team.model_rpm_limit,
        "model_tpm_limit": team.model_tpm_limit,
        "max_budget": team.max_budget,
        "soft_budget": team.soft_budget,
        "budget_duration": team.budget_duration,
        "budget_reset_at": team.budget_reset_at,
        "models": team.models,
        "blocked": team.blocked,
        "spend": team.spend,
        "created_at": team.created_at,
        "updated_at": team.updated_at,
    }))
}

pub fn user_json(user: &User) -> Map<String, Value> {
    object(json!({
        "user_id": user.user_id,
        "user_email": user.user_email,
        "user_alias": user.user_alias,
        "user_role": user.user_role,
        "teams": user.teams,
        "models": user.models,
        "max_budget": user.max_budget,
        "soft_budget": user.soft_budget,
        "budget_duration": user.budget_duration,
        "budget_reset_at": user.budget_reset_at,
        "tpm_limit": user.tpm_limit,
        "rpm_limit": user.rpm_limit,
        "max_parallel_requests": user.max_parallel_requests,
        "model_rpm_limit": user.model_rpm_limit,
        "model_tpm_limit": user.model_tpm_limit,
        "metadata": metadata(&user.metadata),
        "spend": user.spend,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }))
}

/// LiteLLM keeps an end user's budget and limits in a linked
/// `litellm_budget_table` (null when none is set).
pub fn customer_json(c: &Customer) -> Map<String, Value> {
    let has_budget = c.max_budget.is_some()
        || c.soft_budget.is_some()
        || c.budget_duration.is_some()
        || c.rpm_limit.is_some()
        || c.tpm_limit.is_some()
        || c.max_parallel_requests.is_some();
    let budget = has_budget.then(|| {
        json!({
            "max_budget": c.max_budget,
            "soft_budget": c.soft_budget,
            "budget_duration": c.budget_duration,
            "budget_reset_at": c.budget_reset_at,
            "tpm_limit": c.tpm_limit,
            "rpm_limit": c.rpm_limit,
            "max_parallel_requests": c.max_parallel_requests,
        })
    });
    object(json!({
        "user_id": c.user_id,
        "alias": c.alias,
        "spend": c.spend,
        "allowed_model_region": c.allowed_model_region,
        "default_model": c.default_model,
        "blocked": c.blocked,
        "litellm_budget_table": budget,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }))
}
