//! Between the wire (`CustomerSpec`, `Customer`), the row and the snapshot.

use crate::db::CustomerRow;
use crate::db::entities::customer::ActiveModel;
use crate::entity_fields::{
    apply_budgets, apply_rate_limits, limit_columns, snapshot_limits, spend_usd, text,
};
use crate::manage_error::ManageError;
use chrono::{DateTime, Utc};
use sea_orm::Set;
use tollgate_proto::v1::{Customer, CustomerSpec};
use tollgate_shared::snapshot;

/// LiteLLM's `allowed_model_region` values.
const REGIONS: [&str; 2] = ["eu", "us"];

pub fn blank(user_id: String, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        user_id: Set(user_id),
        alias: Set(None),
        blocked: Set(false),
        max_budget: Set(None),
        soft_budget: Set(None),
        budget_duration: Set(None),
        budget_reset_at: Set(None),
        rpm_limit: Set(None),
        tpm_limit: Set(None),
        max_parallel_requests: Set(None),
        spend_picos: Set(0),
        allowed_model_region: Set(None),
        default_model: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

pub fn apply_spec(
    spec: &CustomerSpec,
    row: &mut ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), ManageError> {
    if let Some(alias) = &spec.alias {
        row.alias = Set(text(alias));
    }
    if let Some(blocked) = spec.blocked {
        row.blocked = Set(blocked);
    }
    apply_budgets!(spec, row, now);
    apply_rate_limits!(spec, row);
    if let Some(region) = &spec.allowed_model_region {
        let region = text(region);
        if let Some(r) = &region
            && !REGIONS.contains(&r.as_str())
        {
            return Err(ManageError::invalid(
                "allowed_model_region",
                format!("must be `eu` or `us`, got `{r}`"),
            ));
        }
        row.allowed_model_region = Set(region);
    }
    if let Some(model) = &spec.default_model {
        row.default_model = Set(text(model));
    }
    Ok(())
}

pub fn customer_to_proto(row: &CustomerRow) -> Customer {
    Customer {
        user_id: row.user_id.clone(),
        alias: row.alias.clone(),
        blocked: row.blocked,
        max_budget: row.max_budget,
        soft_budget: row.soft_budget,
        budget_duration: row.budget_duration.clone(),
        budget_reset_at: row.budget_reset_at.map(|t| t.to_rfc3339()),
        rpm_limit: row.rpm_limit,
        tpm_limit: row.tpm_limit,
        max_parallel_requests: row.max_parallel_requests,
        spend: spend_usd(row.spend_picos),
        allowed_model_region: row.allowed_model_region.clone(),
        default_model: row.default_model.clone(),
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
    }
}

pub fn customer_to_snapshot(row: &CustomerRow) -> snapshot::Customer {
    snapshot::Customer {
        user_id: row.user_id.clone(),
        blocked: row.blocked,
        limits: snapshot_limits(limit_columns!(row)),
    }
}
