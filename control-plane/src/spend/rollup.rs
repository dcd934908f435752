//! What a batch of newly stored spend logs adds to the daily aggregates and
//! to the running totals of keys, teams, users and end users.
//!
//! Everything is kept in `BTreeMap`s: the writes that follow go out sorted by
//! entity, so concurrent batches from several data planes lock rows in the
//! same order and cannot deadlock each other.

use super::EntityKind;
use crate::db::entities::spend_log;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayKey {
    /// YYYY-MM-DD, UTC, of the request's start.
    pub day: String,
    pub kind: EntityKind,
    pub entity_id: String,
    /// The key behind the spend, for key and team rows ("" otherwise).
    pub api_key: String,
    pub model_group: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub spend_picos: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub requests: i64,
    pub successful_requests: i64,
    pub failed_requests: i64,
}

impl Sums {
    fn of(log: &spend_log::Model) -> Self {
        let success = log.status == "success";
        Self {
            spend_picos: log.spend_picos,
            prompt_tokens: log.prompt_tokens,
            completion_tokens: log.completion_tokens,
            requests: 1,
            successful_requests: i64::from(success),
            failed_requests: i64::from(!success),
        }
    }

    fn add(&mut self, other: &Self) {
        self.spend_picos = self.spend_picos.saturating_add(other.spend_picos);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.requests = self.requests.saturating_add(other.requests);
        self.successful_requests = self
            .successful_requests
            .saturating_add(other.successful_requests);
        self.failed_requests = self.failed_requests.saturating_add(other.failed_requests);
    }
}

#[derive(Debug, Default)]
pub struct Rollup {
    pub daily: BTreeMap<DayKey, Sums>,
    /// Key hash → picodollars.
    pub keys: BTreeMap<String, i64>,
    pub teams: BTreeMap<String, i64>,
    pub users: BTreeMap<String, i64>,
    pub customers: BTreeMap<String, i64>,
    /// The dashboard's hourly rows (`usage_hourly`).
    pub hourly: BTreeMap<super::hourly::HourKey, super::hourly::HourSums>,
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn bump(totals: &mut BTreeMap<String, i64>, id: &str, picos: i64) {
    let total = totals.entry(id.to_string()).or_insert(0);
    *total = total.saturating_add(picos);
}

impl Rollup {
    pub fn of<'a>(logs: impl IntoIterator<Item = &'a spend_log::Model>) -> Self {
        let mut rollup = Self::default();
        for log in logs {
            rollup.add(log);
        }
        rollup
    }

    pub fn add(&mut self, log: &spend_log::Model) {
        super::hourly::add(&mut self.hourly, log);
        let sums = Sums::of(log);
        let day = log.start_time.format("%Y-%m-%d").to_string();
        let key = non_empty(Some(log.api_key.as_str()));
        let mut entities: Vec<(EntityKind, &str, &str)> = vec![
            (EntityKind::Global, "", ""),
            (EntityKind::Model, log.model_group.as_str(), ""),
        ];
        if let Some(k) = key {
            entities.push((EntityKind::Key, k, k));
        }
        // Team rows keep the key (the team report breaks spend down by
        // key); user and end-user rows do not need it, and every extra
        // dimension multiplies the rows each batch upserts.
        if let Some(team) = non_empty(log.team_id.as_deref()) {
            entities.push((EntityKind::Team, team, key.unwrap_or("")));
        }
        if let Some(user) = non_empty(log.user_id.as_deref()) {
            entities.push((EntityKind::User, user, ""));
        }
        if let Some(end_user) = non_empty(log.end_user.as_deref()) {
            entities.push((EntityKind::EndUser, end_user, ""));
        }
        for (kind, entity_id, api_key) in entities {
            self.daily
                .entry(DayKey {
                    day: day.clone(),
                    kind,
                    entity_id: entity_id.to_string(),
                    api_key: api_key.to_string(),
                    model_group: log.model_group.clone(),
                })
                .or_default()
                .add(&sums);
        }
        // LiteLLM creates an end user on first sight, even at zero cost.
        if let Some(end_user) = non_empty(log.end_user.as_deref()) {
            bump(&mut self.customers, end_user, log.spend_picos);
        }
        // A zero-cost request still counts in the daily rows (requests,
        // tokens) but changes no other running total.
        if log.spend_picos == 0 {
            return;
        }
        if let Some(k) = key {
            bump(&mut self.keys, k, log.spend_picos);
        }
        if let Some(team) = non_empty(log.team_id.as_deref()) {
            bump(&mut self.teams, team, log.spend_picos);
        }
        if let Some(user) = non_empty(log.user_id.as_deref()) {
            bump(&mut self.users, user, log.spend_picos);
        }
    }
}
