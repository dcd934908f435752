//! Validation and conversion of the fields teams, users and customers share
//! with keys: budgets, limits, model lists, budget periods. Everything is
//! checked before anything is written.

use crate::manage_error::ManageError;
use chrono::{DateTime, Months, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use tollgate_shared::duration::Span;
use tollgate_shared::snapshot::Limits;

pub fn usd(field: &'static str, v: Option<f64>) -> Result<Option<f64>, ManageError> {
    match v {
        Some(x) if !x.is_finite() || x < 0.0 => Err(ManageError::invalid(
            field,
            format!("must be a number ≥ 0, got {x}"),
        )),
        other => Ok(other),
    }
}

pub fn count(field: &'static str, v: Option<i64>) -> Result<Option<i64>, ManageError> {
    match v {
        Some(x) if x < 0 => Err(ManageError::invalid(field, format!("must be ≥ 0, got {x}"))),
        other => Ok(other),
    }
}

pub fn model_limits(field: &'static str, map: &HashMap<String, i64>) -> Result<Value, ManageError> {
    if let Some((model, v)) = map.iter().find(|(_, v)| **v < 0) {
        return Err(ManageError::invalid(
            field,
            format!("limit for {model} must be ≥ 0, got {v}"),
        ));
    }
    Ok(json!(map.iter().collect::<BTreeMap<_, _>>()))
}

pub fn models(values: &[String]) -> Result<Value, ManageError> {
    if values.iter().any(|m| m.trim().is_empty()) {
        return Err(ManageError::invalid(
            "models",
            "model names must not be empty",
        ));
    }
    Ok(json!(values))
}

/// A budget period and when it next resets: `None` clears both.
pub type BudgetPeriod = (Option<String>, Option<DateTime<Utc>>);

pub fn budget_period(duration: &str, now: DateTime<Utc>) -> Result<BudgetPeriod, ManageError> {
    let duration = duration.trim();
    if duration.is_empty() {
        return Ok((None, None));
    }
    let span = Span::parse(duration)
        .map_err(|e| ManageError::invalid("budget_duration", e.to_string()))?;
    let reset = match span {
        Span::Seconds(s) => i64::try_from(s)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|d| now.checked_add_signed(d)),
        Span::Months(m) => now.checked_add_months(Months::new(m)),
    }
    .ok_or_else(|| ManageError::invalid("budget_duration", "is too long"))?;
    Ok((Some(duration.to_string()), Some(reset)))
}

/// `""` clears an optional text field.
pub fn text(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|s| !s.is_empty())
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn int_map(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_i64().map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn unsigned_map(v: &Value) -> BTreeMap<String, u64> {
    int_map(v)
        .into_iter()
        .filter_map(|(k, v)| u64::try_from(v).ok().map(|v| (k, v)))
        .collect()
}

pub fn spend_usd(picos: i64) -> f64 {
    tollgate_shared::pricing::to_usd(u64::try_from(picos).unwrap_or(0))
}

pub struct LimitColumns {
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub max_parallel_requests: Option<i64>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
}

pub fn snapshot_limits(c: LimitColumns) -> Limits {
    let unsigned = |v: Option<i64>| v.and_then(|n| u64::try_from(n).ok());
    Limits {
        rpm_limit: unsigned(c.rpm_limit),
        tpm_limit: unsigned(c.tpm_limit),
        max_parallel_requests: unsigned(c.max_parallel_requests),
        max_budget_picos: c.max_budget.and_then(tollgate_shared::pricing::from_usd),
        soft_budget_picos: c.soft_budget.and_then(tollgate_shared::pricing::from_usd),
    }
}

pub fn new_id() -> String {
    uuid_like(rand::random::<[u8; 16]>())
}

/// LiteLLM ids are UUIDs; the same shape keeps scripts that parse them happy.
fn uuid_like(b: [u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_periods_reset_after_their_length() {
        let now = DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        assert!(matches!(budget_period("", now), Ok((None, None))));
        let (d, reset) = budget_period("30d", now).expect("valid");
        assert_eq!(d.as_deref(), Some("30d"));
        assert_eq!(reset.map(|r| (r - now).num_days()), Some(30));
        assert!(budget_period("1 week", now).is_err());
        assert!(usd("max_budget", Some(-1.0)).is_err());
        assert!(count("rpm_limit", Some(-1)).is_err());
        assert_eq!(new_id().len(), 36);
    }
}
