//! What the control plane's services share.

use crate::db::SpendLogs;
use crate::publisher::{ConfigStatus, Published};
use crate::registry::Registry;
use crate::status::{self, StatusView};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub published: watch::Receiver<Option<Arc<Published>>>,
    /// Full payloads and delta history for the config streams.
    pub publisher: Arc<crate::publisher::Publisher>,
    /// How long a management write waits for the fleet to apply it.
    pub apply_wait: std::time::Duration,
    pub registry: Arc<Registry>,
    pub spend_logs: SpendLogs,
    pub config_status: Arc<Mutex<ConfigStatus>>,
    pub cancel: CancellationToken,
    pub keys: Arc<crate::keys::KeyService>,
    pub teams: Arc<crate::teams::TeamService>,
    pub users: Arc<crate::users::UserService>,
    pub customers: Arc<crate::customers::CustomerService>,
    /// Fleet-wide limits leased to data planes.
    pub quota: Arc<crate::quota::Coordinator>,
    pub database: sea_orm::DatabaseConnection,
    /// `general_settings.require_auth_for_metrics_endpoint`, read at start.
    pub metrics_require_auth: bool,
    /// `litellm_settings.prometheus_initialize_budget_metrics`, read at
    /// start: budget gauges per key and per user too.
    pub budget_metrics_per_key_and_user: bool,
    /// The dashboard's sessions, login throttle and live tail.
    pub ui: Arc<crate::ui::UiState>,
}

impl AppState {
    pub fn current(&self) -> Option<Arc<Published>> {
        self.published.borrow().clone()
    }

    /// Checks a bearer token against the master key of the live snapshot.
    pub fn is_master_key(&self, presented: Option<&str>) -> bool {
        let current = self.current();
        crate::master_key::verify(
            presented,
            current.as_ref().and_then(|p| p.master_key_hash.as_ref()),
        )
    }

    pub fn metrics_require_auth(&self) -> bool {
        self.metrics_require_auth
    }

    pub fn status(&self) -> StatusView {
        let config = self
            .config_status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        status::collect(self.current().as_ref(), config, &self.registry)
    }
}
