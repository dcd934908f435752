//! Which meters a request touches, and how much of each it needs.

use super::index::LimitIndex;
use tollgate_proto::v1::MeterKind;
use tollgate_shared::meters::{Dimension, MeterName, Scope};
use tollgate_shared::snapshot::{Limits, VirtualKey};

/// LiteLLM's rate windows are one minute.
pub const WINDOW_MS: u64 = 60_000;

/// Who a request is for, as far as limits go.
pub struct RequestScope<'a> {
    pub key: Option<&'a VirtualKey>,
    pub end_user: Option<&'a str>,
    /// The model the client asked for (per-key model limits use it).
    pub model: &'a str,
    /// Reservation for budgets: prompt plus `max_tokens` at the price.
    pub budget_estimate: u64,
}

/// One meter a request needs allowance on.
#[derive(Debug, Clone)]
pub struct Need {
    pub name: String,
    pub meter: MeterName,
    pub kind: MeterKind,
    pub limit: u64,
    pub window_ms: u64,
    /// Units reserved at admission (budget estimate, or what remained of
    /// the budget when that was less; 1 otherwise).
    pub units: u64,
    /// Budgets: spend past which responses are flagged (`soft_budget`).
    pub soft_limit: Option<u64>,
    /// Set at admission on a budget whose reservation the control plane
    /// granted to this request alone: the entity's settled spend at that
    /// moment (LiteLLM's spend as of the request's auth check).
    pub own_reservation: Option<u64>,
}

/// The limit of a budget meter that only tracks spend (a key without
/// `max_budget`), so `x-litellm-key-spend` and soft budgets work for every
/// key.
pub const TRACK_ONLY: u64 = u64::MAX;

impl Need {
    fn new(scope: Scope, dimension: Dimension, limit: u64, units: u64) -> Self {
        let meter = MeterName::new(scope, dimension);
        let (kind, window_ms) = match dimension {
            Dimension::Rpm => (MeterKind::Requests, WINDOW_MS),
            Dimension::Tpm => (MeterKind::Tokens, WINDOW_MS),
            Dimension::Parallel => (MeterKind::Concurrency, 0),
            Dimension::Budget => (MeterKind::Budget, 0),
        };
        Self {
            name: meter.to_string(),
            meter,
            kind,
            limit,
            window_ms,
            units,
            soft_limit: None,
            own_reservation: None,
        }
    }
}

fn entity_needs(out: &mut Vec<Need>, scope: impl Fn() -> Scope, l: &Limits, estimate: u64) {
    if let Some(n) = l.rpm_limit {
        out.push(Need::new(scope(), Dimension::Rpm, n, 1));
    }
    if let Some(n) = l.tpm_limit {
        out.push(Need::new(scope(), Dimension::Tpm, n, 1));
    }
    if let Some(n) = l.max_parallel_requests {
        out.push(Need::new(scope(), Dimension::Parallel, n, 1));
    }
    if let Some(n) = l.max_budget_picos {
        out.push(Need::new(scope(), Dimension::Budget, n, estimate));
    }
}

/// A deployment's own `rpm` / `tpm`, held for the whole fleet (LiteLLM
/// counts them per instance: issues #27736, #40291).
pub fn deployment(id: &str, rpm: Option<u64>, tpm: Option<u64>) -> Vec<Need> {
    let scope = || Scope::Deployment(id.to_string());
    let mut out = Vec::new();
    if let Some(n) = rpm {
        out.push(Need::new(scope(), Dimension::Rpm, n, 1));
    }
    if let Some(n) = tpm {
        out.push(Need::new(scope(), Dimension::Tpm, n, 1));
    }
    out
}

/// Every meter the request touches; empty (no allocation) for a request
/// nothing limits.
pub fn plan(index: &LimitIndex, r: &RequestScope<'_>) -> Vec<Need> {
    let mut out = Vec::new();
    let estimate = r.budget_estimate;
    if let Some(key) = r.key {
        let hash = key.token.to_hex();
        let hash = hash.as_str();
        let own = Limits {
            rpm_limit: key.rpm_limit,
            tpm_limit: key.tpm_limit,
            max_parallel_requests: key.max_parallel_requests,
            max_budget_picos: key.max_budget_picos,
            soft_budget_picos: None,
        };
        entity_needs(&mut out, || Scope::Key(hash.to_string()), &own, estimate);
        if own.max_budget_picos.is_none() {
            out.push(Need::new(
                Scope::Key(hash.to_string()),
                Dimension::Budget,
                TRACK_ONLY,
                estimate,
            ));
        }
        if let Some(budget) = out
            .iter_mut()
            .find(|n| n.meter.dimension == Dimension::Budget)
        {
            budget.soft_limit = key.soft_budget_picos;
        }
        let model_scope = || Scope::KeyModel {
            key: hash.to_string(),
            model: r.model.to_string(),
        };
        if let Some(&n) = key.model_rpm_limit.get(r.model) {
            out.push(Need::new(model_scope(), Dimension::Rpm, n, 1));
        }
        if let Some(&n) = key.model_tpm_limit.get(r.model) {
            out.push(Need::new(model_scope(), Dimension::Tpm, n, 1));
        }
        if let Some(team) = key.team_id.as_deref()
            && let Some(l) = index.teams.get(team)
        {
            entity_needs(&mut out, || Scope::Team(team.to_string()), l, estimate);
        }
        if let Some(user) = key.user_id.as_deref()
            && let Some(l) = index.users.get(user)
        {
            entity_needs(&mut out, || Scope::User(user.to_string()), l, estimate);
        }
    }
    if let Some(end_user) = r.end_user
        && let Some(l) = index.customers.get(end_user)
    {
        entity_needs(
            &mut out,
            || Scope::Customer(end_user.to_string()),
            l,
            estimate,
        );
    }
    if let Some(n) = index.global_budget {
        let mut need = Need::new(Scope::Global, Dimension::Budget, n, estimate);
        // The control plane rolls the proxy's budget in fixed windows.
        need.window_ms = index.global_budget_window_ms;
        out.push(need);
    }
    out
}
