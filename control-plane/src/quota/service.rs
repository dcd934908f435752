//! `QuotaService.Exchange`: settle and grant leases. Budget meters seen for
//! the first time start from the entity's stored spend, read here, outside
//! the coordinator's lock.

use super::coordinator::{BudgetStart, Coordinator, Kind, Update};
use crate::db::budgets::{self, Budgets};
use crate::registry::Registry;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use tollgate_proto::v1::quota_service_server::QuotaService as QuotaApi;
use tollgate_proto::v1::{MeterGrant, MeterKind, QuotaRequest, QuotaResponse};
use tollgate_shared::meters::{Dimension, MeterName, Scope};
use tonic::{Request, Response, Status};
use tracing::warn;

pub struct QuotaService {
    coordinator: Arc<Coordinator>,
    budgets: Budgets,
    registry: Arc<Registry>,
}

impl QuotaService {
    pub fn new(coordinator: Arc<Coordinator>, budgets: Budgets, registry: Arc<Registry>) -> Self {
        Self {
            coordinator,
            budgets,
            registry,
        }
    }

    async fn budget_start(&self, meter: &str, window_ms: u64) -> Result<BudgetStart, Status> {
        let Some(name) = MeterName::parse(meter) else {
            return Err(Status::invalid_argument(format!(
                "`{meter}` is not a meter name this control plane knows"
            )));
        };
        let table = match &name.scope {
            Scope::Key(_) => budgets::KEYS,
            Scope::Team(_) => budgets::TEAMS,
            Scope::User(_) => budgets::USERS,
            Scope::Customer(_) => budgets::CUSTOMERS,
            Scope::Global => {
                // With a budget_duration the proxy's budget counts the
                // current fixed window only.
                let now = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
                let since = (window_ms > 0)
                    .then(|| now / window_ms * window_ms)
                    .and_then(|ms| {
                        chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
                    });
                let spend = self.budgets.global_spend(since).await.map_err(db_error)?;
                return Ok(BudgetStart {
                    spend,
                    resets_at_ms: None,
                });
            }
            Scope::KeyModel { .. } | Scope::Deployment(_) => return Ok(BudgetStart::default()),
        };
        let id = match name.scope {
            Scope::Key(id) | Scope::Team(id) | Scope::User(id) | Scope::Customer(id) => id,
            _ => return Ok(BudgetStart::default()),
        };
        // A missing row (an end user seen for the first time) has spent
        // nothing yet.
        let (spend, reset) = self
            .budgets
            .spend(table, &id)
            .await
            .map_err(db_error)?
            .unwrap_or((0, None));
        Ok(BudgetStart {
            spend,
            resets_at_ms: reset.and_then(|r| u64::try_from(r.timestamp_millis()).ok()),
        })
    }
}

fn db_error(e: sea_orm::DbErr) -> Status {
    warn!("quota: cannot read budget spend: {e}");
    Status::unavailable("the control plane cannot read budgets from its database right now")
}

fn kind(k: i32) -> Option<Kind> {
    Some(match MeterKind::try_from(k).ok()? {
        MeterKind::Requests => Kind::Requests,
        MeterKind::Tokens => Kind::Tokens,
        MeterKind::Concurrency => Kind::Concurrency,
        MeterKind::Budget => Kind::Budget,
        MeterKind::Unspecified => return None,
    })
}

#[tonic::async_trait]
impl QuotaApi for QuotaService {
    async fn exchange(
        &self,
        request: Request<QuotaRequest>,
    ) -> Result<Response<QuotaResponse>, Status> {
        let request = request.into_inner();
        if request.node_id.is_empty() {
            return Err(Status::invalid_argument("node_id is required"));
        }
        let mut updates = Vec::with_capacity(request.meters.len());
        let mut starts = HashMap::new();
        for m in request.meters {
            let Some(kind) = kind(m.kind) else {
                return Err(Status::invalid_argument(format!(
                    "meter `{}` has no kind",
                    m.meter
                )));
            };
            if kind == Kind::Budget
                && !self.coordinator.knows(&m.meter)
                && !starts.contains_key(&m.meter)
            {
                let start = self.budget_start(&m.meter, m.window_ms).await?;
                starts.insert(m.meter.clone(), start);
            }
            // LiteLLM compares keys' and users' spend with `>=` and
            // teams', end users' and the proxy's with `>`
            // (proxy/auth/auth_checks.py).
            let admits_at_limit = kind == Kind::Budget
                && MeterName::parse(&m.meter).is_some_and(|name| {
                    matches!(
                        name.scope,
                        Scope::Team(_) | Scope::Customer(_) | Scope::Global
                    )
                });
            updates.push((
                kind,
                Update {
                    meter: m.meter,
                    limit: m.limit,
                    window_ms: m.window_ms,
                    need: m.need,
                    want: m.want,
                    overdraft: m.overdraft,
                    release: m.release,
                    spent: m.spent,
                    epoch: m.epoch,
                    admits_at_limit,
                },
            ));
        }
        let fleet = self.registry.connected_count().max(1);
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let grants = self
            .coordinator
            .exchange(&request.node_id, now_ms, fleet, updates, &starts)
            .into_iter()
            .map(|g| MeterGrant {
                meter: g.meter,
                granted: g.granted,
                used: g.used,
                limit: g.limit,
                resets_in_ms: g.resets_in_ms,
                epoch: g.epoch,
                spend: g.spend,
            })
            .collect();
        Ok(Response::new(QuotaResponse {
            grants,
            fleet_size: u32::try_from(fleet).unwrap_or(u32::MAX),
        }))
    }
}

/// The meter of an entity's budget, as data planes name it.
pub fn budget_meter(scope: Scope) -> String {
    MeterName::new(scope, Dimension::Budget).to_string()
}
