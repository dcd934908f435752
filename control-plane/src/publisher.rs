//! Turns the config file into published snapshots.
//!
//! Triggers (file events, SIGHUP, start) are coalesced: the publisher waits
//! for a quiet period, loads the file once, and publishes only if the content
//! hash changed. A broken file is logged and recorded; the last good snapshot
//! stays live. Snapshots are serialized here, once per version; every stream
//! sends the same `Bytes`.

use crate::db::{ConfigVersions, Customers, Teams, Users, VirtualKeys};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tollgate_shared::config::{self, ProcessEnv};
use tollgate_shared::keys::KeyHash;
use tollgate_shared::secret::SecretString;
use tollgate_shared::snapshot::{Snapshot, VirtualKey};
use tracing::{Instrument, error, info, info_span, warn};

/// A snapshot as every stream sends it.
#[derive(Debug)]
pub struct Published {
    pub version: u64,
    pub content_hash: String,
    pub payload: Bytes,
    pub master_key_hash: Option<KeyHash>,
    pub created_at: chrono::DateTime<chrono::Utc>,
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
    keys: VirtualKeys,
    teams: Teams,
    users: Users,
    customers: Customers,
    tx: watch::Sender<Option<Arc<Published>>>,
    status: Arc<Mutex<ConfigStatus>>,
    /// Builds run one at a time: each reads the file and the database when
    /// it starts, so a build that started later never loses to an earlier
    /// one that finishes later.
    build_lock: tokio::sync::Mutex<()>,
    /// Live keys as the snapshot carries them, by token, kept between builds:
    /// a key change re-reads its own row, not all 100,000 (`publish_keys`).
    /// Only touched under `build_lock`.
    key_cache: Mutex<Option<BTreeMap<String, VirtualKey>>>,
    /// The last price file read: its source, its version (a file's
    /// modification time; `None` for a URL) and its prices.
    prices: Mutex<Option<CachedPrices>>,
}

/// A price file's source, version and prices.
type CachedPrices = (
    String,
    Option<std::time::SystemTime>,
    Arc<crate::prices::PriceMap>,
);

/// Which keys a build must read from the database.
enum KeyReload<'a> {
    All,
    Only(&'a [String]),
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
            keys: VirtualKeys::new(db.clone()),
            teams: Teams::new(db.clone()),
            users: Users::new(db.clone()),
            customers: Customers::new(db),
            tx,
            status: Arc::new(Mutex::new(status)),
            build_lock: tokio::sync::Mutex::new(()),
            key_cache: Mutex::new(None),
            prices: Mutex::new(None),
        }
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
        self.publish(KeyReload::All).await
    }

    /// Publishes after a change to these keys only (created, updated,
    /// blocked, deleted): their rows are re-read, the rest come from the
    /// cache.
    pub async fn publish_keys(&self, tokens: &[String]) -> Result<u64, PublishError> {
        self.publish(KeyReload::Only(tokens)).await
    }

    async fn publish(&self, keys: KeyReload<'_>) -> Result<u64, PublishError> {
        let span = info_span!("snapshot_build", path = %self.config_path.display());
        async {
            let _one_at_a_time = self.build_lock.lock().await;
            match self.build(keys).await {
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

    async fn build(&self, reload: KeyReload<'_>) -> Result<u64, PublishError> {
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
        snapshot.keys = self.live_keys(reload).await?;
        snapshot.teams = self
            .teams
            .all()
            .await?
            .iter()
            .map(crate::teams::team_to_snapshot)
            .collect();
        snapshot.users = self
            .users
            .all()
            .await?
            .iter()
            .map(crate::users::user_to_snapshot)
            .collect();
        snapshot.customers = self
            .customers
            .all()
            .await?
            .iter()
            .map(crate::customers::customer_to_snapshot)
            .collect();
        let encoded = snapshot.encode()?;
        {
            let mut status = self.lock_status();
            status.last_error = None;
            status.last_loaded_at = Some(chrono::Utc::now());
            let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
            // Every key change rebuilds: say each warning when it appears,
            // not on every rebuild.
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
            .filter(|p| p.content_hash == encoded.content_hash)
            .map(|p| p.version);
        if let Some(version) = unchanged {
            return Ok(version);
        }
        let version = self.versions.version_for(&encoded.content_hash).await?;
        info!(
            version,
            hash = %encoded.content_hash,
            deployments = snapshot.deployments.len(),
            "publishing snapshot"
        );
        self.tx.send_replace(Some(Arc::new(Published {
            version,
            content_hash: encoded.content_hash,
            payload: Bytes::from(encoded.payload),
            master_key_hash: snapshot.master_key_hash,
            created_at: chrono::Utc::now(),
        })));
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

    async fn live_keys(&self, reload: KeyReload<'_>) -> Result<Vec<VirtualKey>, PublishError> {
        let cached = self
            .key_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let cache = match (reload, cached) {
            (KeyReload::Only(tokens), Some(mut cache)) => {
                for token in tokens {
                    let row = self.keys.find(token).await?;
                    match row
                        .filter(|r| r.deleted_at.is_none())
                        .as_ref()
                        .and_then(crate::keys::key_to_snapshot)
                    {
                        Some(key) => cache.insert(token.clone(), key),
                        None => cache.remove(token),
                    };
                }
                cache
            }
            _ => self
                .keys
                .active()
                .await?
                .iter()
                .filter_map(crate::keys::key_to_snapshot)
                .map(|k| (k.token.to_hex(), k))
                .collect(),
        };
        let keys = cache.values().cloned().collect();
        *self.key_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(cache);
        Ok(keys)
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
