//! Between the wire (`UserSpec`, `User`), the row and the snapshot.

use super::USER_ROLES;
use crate::db::UserRow;
use crate::db::entities::user::ActiveModel;
use crate::entity_fields::{
    apply_budgets, apply_model_limits, apply_rate_limits, int_map, limit_columns, models,
    snapshot_limits, spend_usd, strings, text,
};
use crate::manage_error::ManageError;
use chrono::{DateTime, Utc};
use sea_orm::Set;
use serde_json::json;
use tollgate_proto::json as pjson;
use tollgate_proto::v1::{User, UserSpec};
use tollgate_shared::snapshot;

/// A new `internal_user` (LiteLLM's default role) with no limits.
pub fn blank_user(user_id: String, email: Option<String>, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        user_id: Set(user_id),
        user_email: Set(email),
        user_alias: Set(None),
        user_role: Set("internal_user".into()),
        models: Set(json!([])),
        max_budget: Set(None),
        soft_budget: Set(None),
        budget_duration: Set(None),
        budget_reset_at: Set(None),
        rpm_limit: Set(None),
        tpm_limit: Set(None),
        max_parallel_requests: Set(None),
        model_rpm_limit: Set(json!({})),
        model_tpm_limit: Set(json!({})),
        metadata: Set(json!({})),
        spend_picos: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

pub fn apply_spec(
    spec: &UserSpec,
    row: &mut ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), ManageError> {
    if let Some(email) = &spec.user_email {
        row.user_email = Set(text(email));
    }
    if let Some(alias) = &spec.user_alias {
        row.user_alias = Set(text(alias));
    }
    if let Some(role) = &spec.user_role {
        if !USER_ROLES.contains(&role.as_str()) {
            return Err(ManageError::invalid(
                "user_role",
                format!("must be one of {}, got `{role}`", USER_ROLES.join(", ")),
            ));
        }
        row.user_role = Set(role.clone());
    }
    if let Some(list) = &spec.models {
        row.models = Set(models(&list.values)?);
    }
    apply_budgets!(spec, row, now);
    apply_rate_limits!(spec, row);
    apply_model_limits!(spec, row);
    Ok(())
}

pub fn user_to_proto(row: &UserRow, teams: Vec<String>) -> User {
    User {
        user_id: row.user_id.clone(),
        user_email: row.user_email.clone(),
        user_alias: row.user_alias.clone(),
        user_role: row.user_role.clone(),
        models: strings(&row.models),
        max_budget: row.max_budget,
        soft_budget: row.soft_budget,
        budget_duration: row.budget_duration.clone(),
        budget_reset_at: row.budget_reset_at.map(|t| t.to_rfc3339()),
        rpm_limit: row.rpm_limit,
        tpm_limit: row.tpm_limit,
        max_parallel_requests: row.max_parallel_requests,
        model_rpm_limit: int_map(&row.model_rpm_limit).into_iter().collect(),
        model_tpm_limit: int_map(&row.model_tpm_limit).into_iter().collect(),
        metadata: pjson::from_json(&row.metadata),
        spend: spend_usd(row.spend_picos),
        teams,
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
    }
}

pub fn user_to_snapshot(row: &UserRow) -> snapshot::User {
    snapshot::User {
        user_id: row.user_id.clone(),
        models: strings(&row.models),
        limits: snapshot_limits(limit_columns!(row)),
    }
}
