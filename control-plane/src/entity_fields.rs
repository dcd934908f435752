//! Validation and conversion of the fields teams, users and customers share
//! with keys: budgets, limits, model lists, budget periods. Everything is
//! checked before anything is written.
//!
//! The specs and rows of teams, users, customers and keys name these fields
//! alike; the `apply_*!` macros below write a spec's fields into a row's
//! same-named columns, so each entity's `apply_spec` keeps only its own.

use chrono::{DateTime, Months, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use tollgate_shared::duration::Span;
use tollgate_shared::snapshot::Limits;

/// An invalid field; becomes the caller's `Invalid` error through `?`.
#[derive(Debug)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

pub fn usd(field: &'static str, v: Option<f64>) -> Result<Option<f64>, FieldError> {
    match v {
        Some(x) if !x.is_finite() || x < 0.0 => Err(FieldError::invalid(
            field,
            format!("must be a number ≥ 0, got {x}"),
        )),
        other => Ok(other),
    }
}

pub fn count(field: &'static str, v: Option<i64>) -> Result<Option<i64>, FieldError> {
    match v {
        Some(x) if x < 0 => Err(FieldError::invalid(field, format!("must be ≥ 0, got {x}"))),
        other => Ok(other),
    }
}

pub fn model_limits(field: &'static str, map: &HashMap<String, i64>) -> Result<Value, FieldError> {
    if let Some((model, v)) = map.iter().find(|(_, v)| **v < 0) {
        return Err(FieldError::invalid(
            field,
            format!("limit for {model} must be ≥ 0, got {v}"),
        ));
    }
    Ok(json!(map.iter().collect::<BTreeMap<_, _>>()))
}

pub fn models(values: &[String]) -> Result<Value, FieldError> {
    if values.iter().any(|m| m.trim().is_empty()) {
        return Err(FieldError::invalid(
            "models",
            "model names must not be empty",
        ));
    }
    Ok(json!(values))
}

/// A budget period and when it next resets: `None` clears both.
pub type BudgetPeriod = (Option<String>, Option<DateTime<Utc>>);

pub fn budget_period(duration: &str, now: DateTime<Utc>) -> Result<BudgetPeriod, FieldError> {
    let duration = duration.trim();
    if duration.is_empty() {
        return Ok((None, None));
    }
    let span =
        Span::parse(duration).map_err(|e| FieldError::invalid("budget_duration", e.to_string()))?;
    let reset =
        span_end(span, now).ok_or_else(|| FieldError::invalid("budget_duration", "is too long"))?;
    Ok((Some(duration.to_string()), Some(reset)))
}

/// `now` plus `span`; `None` past the end of time.
pub fn span_end(span: Span, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match span {
        Span::Seconds(s) => i64::try_from(s)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|d| now.checked_add_signed(d)),
        Span::Months(m) => now.checked_add_months(Months::new(m)),
    }
}

/// `max_budget`, `soft_budget` and `budget_duration` (with its reset) of
/// `$spec: &Spec`, validated and written to `$row: &mut ActiveModel`; `?`
/// returns the first invalid field as the caller's error.
macro_rules! apply_budgets {
    ($spec:expr, $row:expr, $now:expr) => {{
        use $crate::entity_fields::{budget_period, usd};
        let (spec, row): (&_, &mut _) = ($spec, $row);
        if spec.max_budget.is_some() {
            row.max_budget = ::sea_orm::Set(usd("max_budget", spec.max_budget)?);
        }
        if spec.soft_budget.is_some() {
            row.soft_budget = ::sea_orm::Set(usd("soft_budget", spec.soft_budget)?);
        }
        if let Some(d) = &spec.budget_duration {
            let (duration, reset) = budget_period(d, $now)?;
            row.budget_duration = ::sea_orm::Set(duration);
            row.budget_reset_at = ::sea_orm::Set(reset);
        }
    }};
}
pub(crate) use apply_budgets;

/// `rpm_limit`, `tpm_limit` and `max_parallel_requests`, like `apply_budgets!`.
macro_rules! apply_rate_limits {
    ($spec:expr, $row:expr) => {{
        use $crate::entity_fields::count;
        let (spec, row): (&_, &mut _) = ($spec, $row);
        if spec.rpm_limit.is_some() {
            row.rpm_limit = ::sea_orm::Set(count("rpm_limit", spec.rpm_limit)?);
        }
        if spec.tpm_limit.is_some() {
            row.tpm_limit = ::sea_orm::Set(count("tpm_limit", spec.tpm_limit)?);
        }
        if spec.max_parallel_requests.is_some() {
            row.max_parallel_requests =
                ::sea_orm::Set(count("max_parallel_requests", spec.max_parallel_requests)?);
        }
    }};
}
pub(crate) use apply_rate_limits;

/// `model_rpm_limit`, `model_tpm_limit` and `metadata`, like `apply_budgets!`.
macro_rules! apply_model_limits {
    ($spec:expr, $row:expr) => {{
        use $crate::entity_fields::model_limits;
        let (spec, row): (&_, &mut _) = ($spec, $row);
        if let Some(m) = &spec.model_rpm_limit {
            row.model_rpm_limit = ::sea_orm::Set(model_limits("model_rpm_limit", &m.limits)?);
        }
        if let Some(m) = &spec.model_tpm_limit {
            row.model_tpm_limit = ::sea_orm::Set(model_limits("model_tpm_limit", &m.limits)?);
        }
        if let Some(metadata) = &spec.metadata {
            row.metadata = ::sea_orm::Set(::tollgate_proto::json::to_json(metadata));
        }
    }};
}
pub(crate) use apply_model_limits;

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

/// The `LimitColumns` of a row that names them alike.
macro_rules! limit_columns {
    ($row:expr) => {{
        let row = &$row;
        $crate::entity_fields::LimitColumns {
            rpm_limit: row.rpm_limit,
            tpm_limit: row.tpm_limit,
            max_parallel_requests: row.max_parallel_requests,
            max_budget: row.max_budget,
            soft_budget: row.soft_budget,
        }
    }};
}
pub(crate) use limit_columns;

/// A limit column as the snapshot holds it; a negative value is no limit.
pub fn unsigned(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

pub fn snapshot_limits(c: LimitColumns) -> Limits {
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
