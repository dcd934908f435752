//! LiteLLM's team, user and customer JSON → the typed AdminService specs.
//! Each field is type-checked (400 naming it); fields Tollgate does not know
//! are ignored, as LiteLLM ignores most of its optional ones.

use super::convert::{boolean, integer, limits, list, number, object, string, type_error};
use crate::http::error::ApiError;
use serde_json::{Map, Value};
use tollgate_proto::json as pjson;
use tollgate_proto::v1::{CustomerSpec, TeamMember, TeamSpec, UserSpec};

pub fn team_spec(body: &Map<String, Value>) -> Result<TeamSpec, ApiError> {
    Ok(TeamSpec {
        team_alias: string(body, "team_alias")?,
        models: list(body, "models")?,
        max_budget: number(body, "max_budget")?,
        soft_budget: number(body, "soft_budget")?,
        budget_duration: string(body, "budget_duration")?,
        rpm_limit: integer(body, "rpm_limit")?,
        tpm_limit: integer(body, "tpm_limit")?,
        max_parallel_requests: integer(body, "max_parallel_requests")?,
        model_rpm_limit: limits(body, "model_rpm_limit")?,
        model_tpm_limit: limits(body, "model_tpm_limit")?,
        metadata: object(body, "metadata")?.and_then(pjson::from_json),
        blocked: boolean(body, "blocked")?,
    })
}

fn member(field: &str, v: &Value) -> Result<TeamMember, ApiError> {
    let Value::Object(m) = v else {
        return Err(type_error(
            field,
            "an object like {\"role\": \"user\", \"user_id\": \"…\"}",
            v,
        ));
    };
    Ok(TeamMember {
        user_id: string(m, "user_id")?.unwrap_or_default(),
        user_email: string(m, "user_email")?.unwrap_or_default(),
        role: string(m, "role")?.unwrap_or_default(),
    })
}

/// `member` (one object or a list, `/team/member_add`) or
/// `members_with_roles` (`/team/new`).
pub fn members(body: &Map<String, Value>, name: &str) -> Result<Vec<TeamMember>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| member(name, v)).collect(),
        Some(v @ Value::Object(_)) => Ok(vec![member(name, v)?]),
        Some(other) => Err(type_error(name, "a member object or a list of them", other)),
    }
}

pub fn user_spec(body: &Map<String, Value>) -> Result<UserSpec, ApiError> {
    Ok(UserSpec {
        user_email: string(body, "user_email")?,
        user_alias: string(body, "user_alias")?,
        user_role: string(body, "user_role")?,
        models: list(body, "models")?,
        max_budget: number(body, "max_budget")?,
        soft_budget: number(body, "soft_budget")?,
        budget_duration: string(body, "budget_duration")?,
        rpm_limit: integer(body, "rpm_limit")?,
        tpm_limit: integer(body, "tpm_limit")?,
        max_parallel_requests: integer(body, "max_parallel_requests")?,
        model_rpm_limit: limits(body, "model_rpm_limit")?,
        model_tpm_limit: limits(body, "model_tpm_limit")?,
        metadata: object(body, "metadata")?.and_then(pjson::from_json),
    })
}

/// `teams` of `/user/new`: ids, or `{"team_id": …}` objects.
pub fn user_teams(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match body.get("teams") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Object(m) => string(m, "team_id")?.ok_or_else(|| {
                    ApiError::bad_request("each team needs a `team_id`.", Some("teams"))
                }),
                other => Err(type_error("teams", "a list of team ids", other)),
            })
            .collect(),
        Some(other) => Err(type_error("teams", "a list of team ids", other)),
    }
}

pub fn customer_spec(body: &Map<String, Value>) -> Result<CustomerSpec, ApiError> {
    if body.get("budget_id").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad_request(
            "`budget_id` is not supported: set `max_budget`, `budget_duration` and the limits on the customer itself.",
            Some("budget_id"),
        ));
    }
    Ok(CustomerSpec {
        alias: string(body, "alias")?,
        blocked: boolean(body, "blocked")?,
        max_budget: number(body, "max_budget")?,
        soft_budget: number(body, "soft_budget")?,
        budget_duration: string(body, "budget_duration")?,
        rpm_limit: integer(body, "rpm_limit")?,
        tpm_limit: integer(body, "tpm_limit")?,
        max_parallel_requests: integer(body, "max_parallel_requests")?,
        allowed_model_region: string(body, "allowed_model_region")?,
        default_model: string(body, "default_model")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::test_support::object as body;

    #[test]
    fn members_come_as_one_object_or_a_list() {
        let one = members(
            &body(json!({"member": {"role": "admin", "user_id": "u1"}})),
            "member",
        )
        .expect("valid");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].role, "admin");
        let many = members(
            &body(json!({"member": [{"user_id": "a"}, {"user_email": "b@x"}]})),
            "member",
        )
        .expect("valid");
        assert_eq!(many.len(), 2);
        assert!(members(&body(json!({"member": "u1"})), "member").is_err());
        assert_eq!(
            user_teams(&body(json!({"teams": ["t1", {"team_id": "t2"}]}))).expect("valid"),
            vec!["t1".to_string(), "t2".to_string()]
        );
    }

    #[test]
    fn wrong_types_are_400s_naming_the_field() {
        for (field, value) in [
            ("max_budget", json!("ten")),
            ("models", json!("gpt-4o")),
            ("blocked", json!("yes")),
            ("rpm_limit", json!(1.5)),
        ] {
            let e = team_spec(&body(json!({ field: value }))).expect_err("rejected");
            assert_eq!(e.body.error.param.as_deref(), Some(field), "{field}");
        }
        assert!(customer_spec(&body(json!({"budget_id": "b"}))).is_err());
    }
}
