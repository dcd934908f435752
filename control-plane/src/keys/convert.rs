//! Between the wire (`KeySpec`, `Key`), the table row and the snapshot.

use super::KeyError;
use crate::db::VirtualKeyRow;
use crate::db::entities::virtual_key::ActiveModel;
use crate::entity_fields::{
    apply_model_limits, apply_rate_limits, int_map, models, span_end, spend_usd, strings, unsigned,
    unsigned_map,
};
use chrono::{DateTime, Utc};
use sea_orm::Set;
use serde_json::json;
use tollgate_proto::json as pjson;
use tollgate_proto::v1::{Key, KeySpec};
use tollgate_shared::duration::Span;
use tollgate_shared::keys::KeyHash;
use tollgate_shared::snapshot::VirtualKey;

pub fn expiry(duration: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, KeyError> {
    if duration.trim().is_empty() {
        return Ok(None);
    }
    let span = Span::parse(duration).map_err(|e| KeyError::invalid("duration", e.to_string()))?;
    span_end(span, now)
        .map(Some)
        .ok_or_else(|| KeyError::invalid("duration", "is too long"))
}

/// Applies the fields `spec` sets; validates each before anything is written.
pub fn apply_spec(
    spec: &KeySpec,
    row: &mut ActiveModel,
    now: DateTime<Utc>,
) -> Result<(), KeyError> {
    if let Some(alias) = &spec.key_alias {
        let alias = alias.trim();
        if alias.is_empty() {
            row.key_alias = Set(None);
            row.active_alias = Set(None);
        } else {
            row.key_alias = Set(Some(alias.to_string()));
            row.active_alias = Set(Some(alias.to_string()));
        }
    }
    if let Some(list) = &spec.models {
        row.models = Set(models(&list.values)?);
    }
    crate::entity_fields::apply_budgets!(spec, row, now);
    if let Some(d) = &spec.duration {
        row.expires = Set(expiry(d, now)?);
    }
    if let Some(team) = &spec.team_id {
        row.team_id = Set(Some(team.clone()).filter(|t| !t.is_empty()));
    }
    if let Some(user) = &spec.user_id {
        row.user_id = Set(Some(user.clone()).filter(|u| !u.is_empty()));
    }
    apply_rate_limits!(spec, row);
    apply_model_limits!(spec, row);
    if let Some(blocked) = spec.blocked {
        row.blocked = Set(blocked);
    }
    if let Some(aliases) = &spec.aliases {
        let value = pjson::to_json(aliases);
        if value
            .as_object()
            .is_some_and(|m| m.values().any(|v| !v.is_string()))
        {
            return Err(KeyError::invalid(
                "aliases",
                "must map model names to model names (strings)",
            ));
        }
        row.aliases = Set(value);
    }
    if let Some(tags) = &spec.tags {
        row.tags = Set(json!(tags.values));
    }
    Ok(())
}

pub fn key_to_proto(row: &VirtualKeyRow) -> Key {
    Key {
        token: row.token.clone(),
        key_name: row.key_name.clone(),
        key_alias: row.key_alias.clone(),
        models: strings(&row.models),
        max_budget: row.max_budget,
        soft_budget: row.soft_budget,
        budget_duration: row.budget_duration.clone(),
        budget_reset_at: row.budget_reset_at.map(|t| t.to_rfc3339()),
        expires: row.expires.map(|e| e.to_rfc3339()),
        team_id: row.team_id.clone(),
        user_id: row.user_id.clone(),
        rpm_limit: row.rpm_limit,
        tpm_limit: row.tpm_limit,
        max_parallel_requests: row.max_parallel_requests,
        model_rpm_limit: int_map(&row.model_rpm_limit).into_iter().collect(),
        model_tpm_limit: int_map(&row.model_tpm_limit).into_iter().collect(),
        metadata: pjson::from_json(&row.metadata),
        blocked: row.blocked,
        aliases: pjson::from_json(&row.aliases),
        tags: strings(&row.tags),
        spend: spend_usd(row.spend_picos),
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
        status: if row.deleted_at.is_some() {
            "deleted"
        } else {
            "active"
        }
        .to_string(),
    }
}

/// `None` for a row whose token is not a SHA-256 hex (never written by us).
pub fn key_to_snapshot(row: &VirtualKeyRow) -> Option<VirtualKey> {
    let token = KeyHash::from_hex(&row.token)?;
    Some(VirtualKey {
        token,
        key_name: row.key_name.clone(),
        alias: row.key_alias.clone(),
        models: strings(&row.models),
        expires_at_ms: row.expires.map(|e| e.timestamp_millis()),
        blocked: row.blocked,
        team_id: row.team_id.clone(),
        user_id: row.user_id.clone(),
        rpm_limit: unsigned(row.rpm_limit),
        tpm_limit: unsigned(row.tpm_limit),
        max_parallel_requests: unsigned(row.max_parallel_requests),
        model_rpm_limit: unsigned_map(&row.model_rpm_limit),
        model_tpm_limit: unsigned_map(&row.model_tpm_limit),
        max_budget_picos: row.max_budget.and_then(tollgate_shared::pricing::from_usd),
        soft_budget_picos: row.soft_budget.and_then(tollgate_shared::pricing::from_usd),
        aliases: row
            .aliases
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        tags: strings(&row.tags),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_litellm_durations() {
        let now = DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        assert_eq!(expiry("", now).ok(), Some(None));
        assert_eq!(
            expiry("30s", now)
                .ok()
                .flatten()
                .map(|d| (d - now).num_seconds()),
            Some(30)
        );
        assert_eq!(
            expiry("1mo", now).ok().flatten().map(|d| d.to_rfc3339()),
            Some("2026-02-28T00:00:00+00:00".to_string())
        );
        assert!(expiry("soon", now).is_err());
    }
}
