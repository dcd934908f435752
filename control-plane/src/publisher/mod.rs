//! Turns the config file into published snapshots.
//!
//! Triggers (file events, SIGHUP, start) are coalesced: the publisher waits
//! for a quiet period, loads the file once, and publishes only if the content
//! hash changed. A broken file is logged and recorded; the last good snapshot
//! stays live. Snapshots are serialized here, once per version; every stream
//! sends the same `Bytes`.
//!
//! A management write re-reads only the rows it changed (`directory.rs`)
//! and publishes a delta over the version before it; the full payload is
//! built on demand, for a data plane that connects or cannot apply the
//! deltas it missed (`history.rs` keeps the recent ones).

mod directory;
mod history;
pub mod redact;

pub use directory::Changed;

use crate::db::{ConfigVersions, Customers, Teams, Users, VirtualKeys};
use bytes::Bytes;
use directory::DirectorySource;
use history::History;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tollgate_shared::config::{self, ProcessEnv};
use tollgate_shared::keys::KeyHash;
use tollgate_shared::secret::SecretString;
use tollgate_shared::snapshot::{EntryKind, EntryStore, Snapshot};
use tracing::{Instrument, error, info, info_span, warn};

/// A published version: what it is, and how to reach it from the version
/// before (its full payload comes from `Publisher::full`).
#[derive(Debug)]
pub struct Published {
    pub version: u64,
    pub content_hash: String,
    pub master_key_hash: Option<KeyHash>,
    /// `litellm_settings.max_budget` (the spend report shows it).
    pub max_budget: Option<f64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// `None` for a config change or the first build: only a full snapshot
    /// reaches this version.
    pub delta: Option<Delta>,
}

/// The directory change from `base_version` to a published version, in its
/// wire form (serialized once; every stream sends the same bytes).
#[derive(Debug)]
pub struct Delta {
    pub base_version: u64,
    pub base_hash: String,
    pub payload: Bytes,
}

/// A full snapshot payload of one version.
#[derive(Debug)]
pub struct FullPayload {
    pub version: u64,
    pub content_hash: String,
    pub payload: Bytes,
}

/// What the operator sees about the config file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConfigStatus {
    pub path: String,
    pub last_error: Option<String>,
    pub last_loaded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot encode snapshot: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot record snapshot version: {0}")]
    Database(#[from] sea_orm::DbErr),
}

pub struct Publisher {
    config_path: PathBuf,
    /// Used when the config sets no master key (generated at start).
    fallback_master_key: Option<SecretString>,
    versions: ConfigVersions,
    directory: DirectorySource,
    tx: watch::Sender<Option<Arc<Published>>>,
    status: Arc<Mutex<ConfigStatus>>,
    /// Builds run one at a time: each reads the file and the database when
    /// it starts, so a build that started later never loses to an earlier
    /// one that finishes later. The state is what was last published.
    state: tokio::sync::Mutex<State>,
    /// Recent deltas, for streams a few versions behind.
    history: Mutex<History>,
    /// The last price file read: its source, its version (a file's
    /// modification time; `None` for a URL) and its prices.
    prices: Mutex<Option<CachedPrices>>,
    /// Follows each published version to the fleet's ACKs
    /// (`propagation.rs`).
    registry: Option<Arc<crate::registry::Registry>>,
    /// The last config that loaded, secrets redacted (`redact.rs`), for the
    /// dashboard; a broken file later leaves it as it was.
    effective: Mutex<Option<Arc<serde_json::Value>>>,
}

/// A price file's source, version and prices.
type CachedPrices = (
    String,
    Option<std::time::SystemTime>,
    Arc<crate::prices::PriceMap>,
);

/// The published snapshot as entries, kept between builds: a key change
/// re-reads its own row and becomes one entry, not 100,000.
#[derive(Default)]
struct State {
    store: Option<EntryStore>,
    /// Each live key's team and user, by token: which keys go with a
    /// deleted team or user.
    key_owners: BTreeMap<String, (Option<String>, Option<String>)>,
    /// The full payload of the published version, built on first demand.
    full: Option<Arc<FullPayload>>,
}

impl Publisher {
    pub fn new(
        config_path: PathBuf,
        fallback_master_key: Option<SecretString>,
        versions: ConfigVersions,
        db: sea_orm::DatabaseConnection,
    ) -> Self {
        let (tx, _) = watch::channel(None);
        let status = ConfigStatus {
            path: config_path.display().to_string(),
            ..Default::default()
        };
        Self {
            config_path,
            fallback_master_key,
            versions,
            directory: DirectorySource {
                keys: VirtualKeys::new(db.clone()),
                teams: Teams::new(db.clone()),
                users: Users::new(db.clone()),
                customers: Customers::new(db),
            },
            tx,
            status: Arc::new(Mutex::new(status)),
            state: tokio::sync::Mutex::new(State::default()),
            history: Mutex::new(History::default()),
            prices: Mutex::new(None),
            registry: None,
            effective: Mutex::new(None),
        }
    }

    /// The config in force — the last file that loaded — with its secrets
    /// redacted; `None` before the first load.
    pub fn effective_config(&self) -> Option<Arc<serde_json::Value>> {
        self.effective
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Has the registry follow every version published from now on to
    /// the fleet's ACKs.
    pub fn with_propagation(mut self, registry: Arc<crate::registry::Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Published>>> {
        self.tx.subscribe()
    }

    pub fn status(&self) -> Arc<Mutex<ConfigStatus>> {
        Arc::clone(&self.status)
    }

    /// Loads the file, the keys, teams, users and customers and publishes them if the content
    /// changed; returns the version now published.
    pub async fn publish_current(&self) -> Result<u64, PublishError> {
        let span = info_span!(
            "snapshot_build",
            otel.name = "tollgate.snapshot.build",
            otel.kind = "internal",
            path = %self.config_path.display()
        );
        async {
            let mut state = self.state.lock().await;
            match self.build(&mut state).await {
                Ok(version) => Ok(version),
                Err(e) => {
                    let mut status = self.lock_status();
                    status.last_error = Some(e.to_string());
                    Err(e)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Publishes after a change to these keys only (created, updated,
    /// blocked, deleted).
    pub async fn publish_keys(&self, tokens: &[String]) -> Result<u64, PublishError> {
        self.publish_changes(&Changed::keys(tokens.iter().cloned()))
            .await
    }

    /// Publishes a management write: the rows it names are re-read and
    /// become a delta over the published version. Nothing changed, nothing
    /// is published (the current version is returned).
    pub async fn publish_changes(&self, changed: &Changed) -> Result<u64, PublishError> {
        // Inside the management call's span: the write's trace shows it.
        let span = info_span!(
            "snapshot_delta",
            otel.name = "tollgate.snapshot.delta",
            otel.kind = "internal"
        );
        self.publish_delta(changed).instrument(span).await
    }

    async fn publish_delta(&self, changed: &Changed) -> Result<u64, PublishError> {
        let mut state = self.state.lock().await;
        let Some(store) = state.store.as_ref() else {
            drop(state);
            return self.publish_current().await;
        };
        let (change, keys) = self
            .directory
            .change(changed, store, &state.key_owners)
            .await?;
        let Some(current) = self.tx.borrow().clone() else {
            drop(state);
            return self.publish_current().await;
        };
        if change.is_empty() {
            return Ok(current.version);
        }
        let content_hash = store.hash_after(&change);
        let version = self.versions.version_for(&content_hash).await?;
        let payload = Bytes::from(change.encode());
        let state = &mut *state;
        if let Some(store) = state.store.as_mut() {
            store.apply(&change);
        }
        for (kind, token) in &change.removals {
            if *kind == EntryKind::Key {
                state.key_owners.remove(token);
            }
        }
        for key in keys {
            state
                .key_owners
                .insert(key.token.to_hex(), (key.team_id, key.user_id));
        }
        state.full = None;
        self.publish(Published {
            version,
            content_hash,
            master_key_hash: current.master_key_hash,
            max_budget: current.max_budget,
            created_at: chrono::Utc::now(),
            delta: Some(Delta {
                base_version: current.version,
                base_hash: current.content_hash.clone(),
                payload,
            }),
        });
        Ok(version)
    }

    /// The full payload of the version published now (built once per
    /// version, on demand: only a connecting or resyncing data plane needs
    /// it).
    pub async fn full(&self) -> Option<Arc<FullPayload>> {
        let mut state = self.state.lock().await;
        let current = self.tx.borrow().clone()?;
        if let Some(full) = state.full.as_ref().filter(|f| f.version == current.version) {
            return Some(Arc::clone(full));
        }
        let store = state.store.as_ref()?;
        let full = Arc::new(FullPayload {
            version: current.version,
            content_hash: current.content_hash.clone(),
            payload: Bytes::from(store.full_payload()),
        });
        state.full = Some(Arc::clone(&full));
        Some(full)
    }

    /// The published config part (deployments and settings as JSON). It
    /// holds provider keys: callers read the fields they show, nothing else.
    pub async fn config_part(&self) -> Option<Bytes> {
        let state = self.state.lock().await;
        state.store.as_ref().map(|s| s.config().clone())
    }

    /// The deltas from what a data plane serves to `target`, when the
    /// history still has them all.
    pub fn deltas(&self, version: u64, hash: &str, target: u64) -> Option<Vec<Arc<Published>>> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .chain(version, hash, target)
    }

    fn publish(&self, published: Published) {
        // On the build or delta span (exported with traces on).
        tracing::trace!(
            tollgate.snapshot.version = published.version as i64,
            tollgate.snapshot.delta = published.delta.is_some(),
            "tollgate.snapshot.publish"
        );
        info!(
            version = published.version,
            hash = %published.content_hash,
            delta = published.delta.is_some(),
            "publishing snapshot"
        );
        if let Some(registry) = &self.registry {
            // Before any stream is woken to push it; the span starts here,
            // under the build or delta span, and ends when the fleet has
            // answered.
            registry.track(crate::propagation::Published::now(
                published.version,
                published.delta.is_some(),
            ));
        }
        let published = Arc::new(published);
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(&published);
        self.tx.send_replace(Some(published));
    }

    async fn build(&self, state: &mut State) -> Result<u64, PublishError> {
        let path = self.config_path.clone();
        // File I/O and parsing off the async workers.
        let loaded = tokio::task::spawn_blocking(move || config::load_file(&path, &ProcessEnv))
            .await
            .map_err(|e| {
                PublishError::Config(config::ConfigError::Validation {
                    path: "<load>".into(),
                    message: e.to_string(),
                })
            })??;
        let mut loaded = loaded;
        *self.effective.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(redact::effective(&loaded.raw_sections)));
        if loaded.config.general_settings.master_key.is_none() {
            loaded.config.general_settings.master_key = self.fallback_master_key.clone();
        }
        let mut snapshot = Snapshot::from_config(&loaded);
        let price_map = match loaded.config.litellm_settings.model_cost_map.as_deref() {
            Some(source) => Some(self.price_map(source).await?),
            None => None,
        };
        let price_warnings = crate::prices::apply(&mut snapshot, price_map.as_deref());
        loaded.warnings.extend(price_warnings);
        self.directory.fill(&mut snapshot).await?;
        let store = snapshot.entry_store()?;
        let content_hash = store.content_hash();
        {
            let mut status = self.lock_status();
            status.last_error = None;
            status.last_loaded_at = Some(chrono::Utc::now());
            let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
            // Say each warning when it appears, not on every rebuild.
            if warnings != status.warnings {
                for w in &loaded.warnings {
                    warn!(field = %w.path, "config: {}", w.message);
                }
            }
            status.warnings = warnings;
        }
        let unchanged = self
            .tx
            .borrow()
            .as_ref()
            .filter(|p| p.content_hash == content_hash)
            .map(|p| p.version);
        if let Some(version) = unchanged {
            return Ok(version);
        }
        let version = self.versions.version_for(&content_hash).await?;
        info!(
            deployments = snapshot.deployments.len(),
            keys = snapshot.keys.len(),
            "snapshot built"
        );
        state.key_owners = snapshot
            .keys
            .iter()
            .map(|k| (k.token.to_hex(), (k.team_id.clone(), k.user_id.clone())))
            .collect();
        state.store = Some(store);
        state.full = None;
        self.publish(Published {
            version,
            content_hash,
            master_key_hash: snapshot.master_key_hash,
            max_budget: snapshot.litellm_settings.max_budget,
            created_at: chrono::Utc::now(),
            delta: None,
        });
        Ok(version)
    }

    /// The price file, parsed once per version of it: a URL once per
    /// process, a file again only when its modification time changes — not
    /// on every key change.
    async fn price_map(&self, source: &str) -> Result<Arc<crate::prices::PriceMap>, PublishError> {
        let version = crate::prices::version(source).await;
        if let Some((cached_source, cached_version, map)) = self
            .prices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && cached_source == source
            && *cached_version == version
        {
            return Ok(Arc::clone(map));
        }
        let map = Arc::new(crate::prices::load(source).await.map_err(|message| {
            PublishError::Config(config::ConfigError::Validation {
                path: "litellm_settings.model_cost_map".into(),
                message,
            })
        })?);
        *self.prices.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((source.to_string(), version, Arc::clone(&map)));
        Ok(map)
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, ConfigStatus> {
        // A poisoned lock only means a panic elsewhere mid-update; the status
        // is still the best we have.
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds after each burst of triggers until cancelled.
    pub async fn run(
        self: Arc<Self>,
        mut triggers: mpsc::Receiver<()>,
        quiet: Duration,
        cancel: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                t = triggers.recv() => if t.is_none() { return },
            }
            // Coalesce: keep absorbing triggers until a quiet period passes.
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(quiet) => break,
                    t = triggers.recv() => if t.is_none() { break },
                }
            }
            if let Err(e) = self.publish_current().await.map(|_| ()) {
                error!("config rejected, the last good snapshot stays live: {e}");
            }
        }
    }
}
