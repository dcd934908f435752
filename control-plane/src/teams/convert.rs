//! Between the wire (`TeamSpec`, `Team`), the row and the snapshot.

use crate::db::entities::team::ActiveModel;
use crate::db::{TeamMemberRow, TeamRow};
use crate::entity_fields::{
    apply_budgets, apply_model_limits, apply_rate_limits, int_map, limit_columns, models,
    snapshot_limits, spend_usd, strings, text, unsigned_map,
};
use crate::manage_error::ManageError;
use chrono::{DateTime, Utc};
use sea_orm::Set;
use serde_json::json;
use std::collections::HashMap;
use tollgate_proto::json as pjson;
use tollgate_proto::v1::{Team, TeamMember, TeamSpec};
use tollgate_shared::snapshot;

pub fn blank(team_id: String, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        team_id: Set(team_id),
        team_alias: Set(None),
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
        blocked: Set(false),
        spend_picos: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Applies the fields `spec` sets, validating each.
pub fn apply_spec(
    spec: &TeamSpec,
    row: &mut ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), ManageError> {
    if let Some(alias) = &spec.team_alias {
        row.team_alias = Set(text(alias));
    }
    if let Some(list) = &spec.models {
        row.models = Set(models(&list.values)?);
    }
    apply_budgets!(spec, row, now);
    apply_rate_limits!(spec, row);
    apply_model_limits!(spec, row);
    if let Some(blocked) = spec.blocked {
        row.blocked = Set(blocked);
    }
    Ok(())
}

/// `emails` names members by user id, for `members_with_roles`.
pub fn team_to_proto(
    row: &TeamRow,
    members: &[TeamMemberRow],
    emails: &HashMap<String, String>,
) -> Team {
    Team {
        team_id: row.team_id.clone(),
        team_alias: row.team_alias.clone(),
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
        blocked: row.blocked,
        spend: spend_usd(row.spend_picos),
        members: members
            .iter()
            .map(|m| TeamMember {
                user_id: m.user_id.clone(),
                user_email: emails.get(&m.user_id).cloned().unwrap_or_default(),
                role: m.role.clone(),
            })
            .collect(),
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
    }
}

pub fn team_to_snapshot(row: &TeamRow) -> snapshot::Team {
    snapshot::Team {
        team_id: row.team_id.clone(),
        team_alias: row.team_alias.clone(),
        models: strings(&row.models),
        blocked: row.blocked,
        limits: snapshot_limits(limit_columns!(row)),
        model_rpm_limit: unsigned_map(&row.model_rpm_limit),
        model_tpm_limit: unsigned_map(&row.model_tpm_limit),
    }
}
