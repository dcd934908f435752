//! Limits from the snapshot, indexed once per snapshot so a request finds
//! its team's, user's and end user's limits in O(1).

use std::collections::HashMap;
use std::sync::Arc;
use tollgate_shared::duration::Span;
use tollgate_shared::pricing::from_usd;
use tollgate_shared::snapshot::{Limits, Snapshot};

#[derive(Default)]
pub struct LimitIndex {
    pub teams: HashMap<String, Arc<Limits>>,
    pub users: HashMap<String, Arc<Limits>>,
    pub customers: HashMap<String, Arc<Limits>>,
    /// `litellm_settings.max_budget` (the whole proxy), in picodollars.
    pub global_budget: Option<u64>,
    /// `litellm_settings.budget_duration` in milliseconds (0 = never
    /// resets); a month counts as 30 days.
    pub global_budget_window_ms: u64,
    /// `general_settings.budget_exceeded_status_code` (validated 4xx at
    /// load), else 429.
    pub budget_status: http::StatusCode,
}

fn limited(l: &Limits) -> bool {
    l.rpm_limit.is_some()
        || l.tpm_limit.is_some()
        || l.max_parallel_requests.is_some()
        || l.max_budget_picos.is_some()
}

fn by_id<'a>(
    entities: impl Iterator<Item = (&'a String, &'a Limits)>,
) -> HashMap<String, Arc<Limits>> {
    entities
        .filter(|(_, l)| limited(l))
        .map(|(id, l)| (id.clone(), Arc::new(l.clone())))
        .collect()
}

impl LimitIndex {
    pub fn build(snapshot: &Snapshot) -> Self {
        Self {
            teams: by_id(snapshot.teams.iter().map(|t| (&t.team_id, &t.limits))),
            users: by_id(snapshot.users.iter().map(|u| (&u.user_id, &u.limits))),
            customers: by_id(snapshot.customers.iter().map(|c| (&c.user_id, &c.limits))),
            // LiteLLM checks the proxy's budget only when it is above 0
            // (`litellm.max_budget > 0`): 0 is its default, "no budget".
            global_budget: snapshot
                .litellm_settings
                .max_budget
                .and_then(from_usd)
                .filter(|&picos| picos > 0),
            global_budget_window_ms: snapshot
                .litellm_settings
                .budget_duration
                .as_deref()
                .and_then(|d| Span::parse(d).ok())
                .map_or(0, |span| match span {
                    Span::Seconds(s) => s.saturating_mul(1_000),
                    Span::Months(m) => u64::from(m).saturating_mul(30 * 86_400_000),
                }),
            budget_status: snapshot
                .raw_settings
                .get("general_settings")
                .and_then(|g| g.get("budget_exceeded_status_code"))
                .and_then(serde_json::Value::as_u64)
                .and_then(|code| u16::try_from(code).ok())
                .and_then(|code| http::StatusCode::from_u16(code).ok())
                .filter(http::StatusCode::is_client_error)
                .unwrap_or(http::StatusCode::TOO_MANY_REQUESTS),
        }
    }

    /// The same proxy-wide settings over another directory (after a
    /// delta).
    pub fn with_entities<'a>(
        &self,
        teams: impl Iterator<Item = (&'a String, &'a Limits)>,
        users: impl Iterator<Item = (&'a String, &'a Limits)>,
        customers: impl Iterator<Item = (&'a String, &'a Limits)>,
    ) -> Self {
        Self {
            teams: by_id(teams),
            users: by_id(users),
            customers: by_id(customers),
            global_budget: self.global_budget,
            global_budget_window_ms: self.global_budget_window_ms,
            budget_status: self.budget_status,
        }
    }
}
