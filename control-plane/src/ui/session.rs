//! Dashboard sessions, held by the control plane (data planes tunnel every
//! `/ui/api` call here, so one login works behind any replica).
//!
//! The browser holds a random 256-bit id in an `HttpOnly` cookie; only its
//! SHA-256 is kept here, so a dump of this map opens nothing. A session
//! dies on logout, after `idle` without use, at its absolute expiry, or when
//! the master key it was opened with is no longer the master key.
//!
//! Sessions live in memory, written through to `ui_sessions` (the id's hash
//! only): a control-plane restart, or a standby taking over, keeps everyone
//! logged in — a session unknown here is looked up there once. Use is
//! written back at most every [`persist_every`], so after a restart idle
//! expiry may come that much early, never late.

use crate::db::ui_sessions::{self, StoredSession};
use crate::grpc::Principal;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tollgate_shared::keys::KeyHash;

/// Who is logged in, as the management API authorizes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `proxy_admin`: the master key, `UI_USERNAME`/`UI_PASSWORD`, or a
    /// `proxy_admin` user's key.
    Admin,
    /// `proxy_admin_viewer`: reads everything, writes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "proxy_admin",
            Role::Viewer => "proxy_admin_viewer",
        }
    }

    pub fn principal(self) -> Principal {
        match self {
            Role::Admin => Principal::Admin,
            Role::Viewer => Principal::Viewer,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Role::Admin, Role::Viewer]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub role: Role,
    /// Sent back by `/session` and required on every write (the page keeps
    /// it in memory only).
    pub csrf_token: String,
    pub created: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// `last_seen` as `ui_sessions` has it.
    stored_seen: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The master key this session was opened with, if it was: rotating the
    /// master key ends such sessions.
    pub master_key: Option<KeyHash>,
}

impl Session {
    fn stored(&self, id_hash: &KeyHash) -> StoredSession {
        StoredSession {
            id_hash: id_hash.to_hex(),
            user_id: self.user_id.clone(),
            role: self.role.as_str().to_string(),
            csrf_token: self.csrf_token.clone(),
            created_ms: self.created.timestamp_millis(),
            last_seen_ms: self.last_seen.timestamp_millis(),
            expires_ms: self.expires_at.timestamp_millis(),
            master_key_hash: self.master_key.as_ref().map(KeyHash::to_hex),
        }
    }

    /// `None` for a row this version cannot read (an unknown role, a
    /// malformed hash): treated as no session.
    fn from_stored(row: &StoredSession) -> Option<Self> {
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms);
        let master_key = match &row.master_key_hash {
            Some(h) => Some(KeyHash::from_hex(h)?),
            None => None,
        };
        let last_seen = at(row.last_seen_ms)?;
        Some(Self {
            user_id: row.user_id.clone(),
            role: Role::parse(&row.role)?,
            csrf_token: row.csrf_token.clone(),
            created: at(row.created_ms)?,
            last_seen,
            stored_seen: last_seen,
            expires_at: at(row.expires_ms)?,
            master_key,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Timeouts {
    /// `LITELLM_UI_SESSION_DURATION` (LiteLLM's, default `24h`) and
    /// `TOLLGATE_UI_IDLE_TIMEOUT` (default `30m`), in LiteLLM's duration
    /// syntax.
    pub fn from_env() -> Self {
        let read = |name: &str, default: Duration| {
            std::env::var(name)
                .ok()
                .and_then(|v| tollgate_shared::duration::Span::parse(&v).ok())
                .map(|span| match span {
                    tollgate_shared::duration::Span::Seconds(s) => Duration::from_secs(s),
                    tollgate_shared::duration::Span::Months(m) => {
                        Duration::from_secs(u64::from(m) * 30 * 86_400)
                    }
                })
                .unwrap_or(default)
        };
        Self {
            absolute: read(
                "LITELLM_UI_SESSION_DURATION",
                Duration::from_secs(24 * 3_600),
            ),
            idle: read("TOLLGATE_UI_IDLE_TIMEOUT", Duration::from_secs(30 * 60)),
        }
    }
}

pub struct Sessions {
    by_hash: Mutex<HashMap<KeyHash, Session>>,
    timeouts: Timeouts,
    /// Where sessions outlive the process (`None`: memory only, for unit
    /// tests).
    store: Option<DatabaseConnection>,
    /// Held while a session is loaded from the store into memory and while
    /// one is forgotten: a logout racing a request that loads the same
    /// session cannot leave it alive in memory.
    loading: tokio::sync::Mutex<()>,
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `t + d`, or the end of time: a timeout set to years (the operator's
/// choice) must not overflow the clock arithmetic.
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(chrono_of(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - d`, or the start of time.
fn earlier(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(chrono_of(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// How stale the stored `last_seen` may be: a minute, or a quarter of the
/// idle timeout if that is shorter.
fn persist_every(t: Timeouts) -> chrono::Duration {
    chrono_of(Ord::min(Duration::from_secs(60), t.idle / 4))
}

/// 32 random bytes, hex.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

impl Sessions {
    pub fn new(timeouts: Timeouts, store: Option<DatabaseConnection>) -> Self {
        Self {
            by_hash: Mutex::new(HashMap::new()),
            timeouts,
            store,
            loading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<KeyHash, Session>> {
        self.by_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session; returns its id (for the cookie only) and the
    /// session, once it is stored.
    pub async fn open(
        &self,
        user_id: String,
        role: Role,
        master_key: Option<KeyHash>,
    ) -> Result<(String, Session), DbErr> {
        let id = random_token();
        let hash = KeyHash::of(&id);
        let now = Utc::now();
        let session = Session {
            user_id,
            role,
            csrf_token: random_token(),
            created: now,
            last_seen: now,
            stored_seen: now,
            expires_at: later(now, self.timeouts.absolute),
            master_key,
        };
        if let Some(db) = &self.store {
            let idle_before = earlier(now, self.timeouts.idle);
            ui_sessions::insert(db, &session.stored(&hash), idle_before.timestamp_millis()).await?;
        }
        let mut map = self.map();
        // Expired sessions go whenever a new one comes: the map never
        // holds more than the sessions of the last `absolute` period.
        map.retain(|_, s| self.alive(s, now));
        map.insert(hash, session.clone());
        Ok((id, session))
    }

    fn alive(&self, s: &Session, now: DateTime<Utc>) -> bool {
        // The expiry given at login, and the current setting: a shorter
        // `LITELLM_UI_SESSION_DURATION` applies to sessions stored before.
        now < later(s.last_seen, self.timeouts.idle)
            && now < later(s.created, self.timeouts.absolute)
            && now < s.expires_at
    }

    /// The session as this process holds it, or as `ui_sessions` does (a
    /// session opened before a restart or on another control plane), then
    /// held in memory.
    async fn find(&self, hash: &KeyHash) -> Option<Session> {
        if let Some(s) = self.map().get(hash) {
            return Some(s.clone());
        }
        let db = self.store.as_ref()?;
        let _loading = self.loading.lock().await;
        if let Some(s) = self.map().get(hash) {
            return Some(s.clone());
        }
        let found = match ui_sessions::get(db, &hash.to_hex()).await {
            Ok(row) => row.as_ref().and_then(Session::from_stored)?,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard session lookup failed: treated as logged out");
                return None;
            }
        };
        self.map().insert(*hash, found.clone());
        Some(found)
    }

    async fn forget(&self, hash: &KeyHash) -> bool {
        let _loading = self.loading.lock().await;
        let here = self.map().remove(hash).is_some();
        let stored = match &self.store {
            Some(db) => ui_sessions::delete(db, &hash.to_hex())
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "dashboard session delete failed");
                    false
                }),
            None => false,
        };
        here || stored
    }

    /// The live session behind a cookie's id, touched (idle expiry restarts).
    /// `master_key`: the current master key's hash.
    pub async fn touch(&self, id: &str, master_key: Option<&KeyHash>) -> Option<Session> {
        let hash = KeyHash::of(id);
        let now = Utc::now();
        let mut session = self.find(&hash).await?;
        let rotated = session
            .master_key
            .as_ref()
            .is_some_and(|k| Some(k) != master_key);
        if rotated || !self.alive(&session, now) {
            self.forget(&hash).await;
            return None;
        }
        let persist = now - session.stored_seen >= persist_every(self.timeouts);
        {
            // Updated in place: a session forgotten meanwhile (a logout
            // racing this request) stays forgotten.
            let mut map = self.map();
            let held = map.get_mut(&hash)?;
            held.last_seen = now;
            if persist {
                held.stored_seen = now;
            }
            session = held.clone();
        }
        if persist
            && let Some(db) = &self.store
            && let Err(e) = ui_sessions::touch(db, &hash.to_hex(), now.timestamp_millis()).await
        {
            tracing::warn!(error = %e, "dashboard session use not stored");
        }
        Some(session)
    }

    /// Still open, as this process knows (without counting as use: a
    /// long-lived stream does not keep an idle session alive). Memory only:
    /// it is asked on every tick of a live tail, and a stream is always
    /// this process's own, its session loaded when the stream opened.
    pub fn is_live(&self, id: &str) -> bool {
        let now = Utc::now();
        self.map()
            .get(&KeyHash::of(id))
            .is_some_and(|s| self.alive(s, now))
    }

    pub async fn close(&self, id: &str) -> bool {
        self.forget(&KeyHash::of(id)).await
    }

    /// Open sessions (stored ones, with a store).
    pub async fn count(&self) -> usize {
        let now = Utc::now();
        if let Some(db) = &self.store {
            let idle_before = earlier(now, self.timeouts.idle);
            match ui_sessions::count_live(
                db,
                now.timestamp_millis(),
                idle_before.timestamp_millis(),
            )
            .await
            {
                Ok(n) => return usize::try_from(n).unwrap_or(usize::MAX),
                Err(e) => tracing::warn!(error = %e, "dashboard session count failed"),
            }
        }
        self.map().values().filter(|s| self.alive(s, now)).count()
    }
}

/// Failed logins per client address and user name: past `MAX_FAILURES`
/// within `WINDOW` the next attempt is refused (429) until the oldest
/// failure leaves the window, whatever the password.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Tracked (address, user) pairs at most: a flood of made-up user names
/// cannot grow the map without bound.
const MAX_TRACKED: usize = 10_000;

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginLimiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Some(wait)` when this client may not try again yet.
    pub fn blocked(&self, who: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.map();
        let times = map.get_mut(who)?;
        times.retain(|t| now.duration_since(*t) < WINDOW);
        if times.len() < MAX_FAILURES {
            return None;
        }
        let oldest = times.iter().min().copied()?;
        Some(WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    pub fn failed(&self, who: &str) {
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= MAX_TRACKED {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        if map.len() < MAX_TRACKED || map.contains_key(who) {
            map.entry(who.to_string()).or_default().push(now);
        }
    }

    pub fn succeeded(&self, who: &str) {
        self.map().remove(who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts(idle: u64, absolute: u64) -> Timeouts {
        Timeouts {
            idle: Duration::from_millis(idle),
            absolute: Duration::from_millis(absolute),
        }
    }

    fn sessions(idle: u64, absolute: u64) -> Sessions {
        Sessions::new(timeouts(idle, absolute), None)
    }

    async fn open(s: &Sessions, master: Option<KeyHash>) -> (String, Session) {
        s.open("admin".into(), Role::Admin, master)
            .await
            .expect("opened")
    }

    #[tokio::test]
    async fn a_session_is_found_by_its_id_only_until_closed() {
        let s = sessions(60_000, 60_000);
        let (id, opened) = open(&s, None).await;
        assert_eq!(id.len(), 64);
        let found = s.touch(&id, None).await.expect("live");
        assert_eq!(found.csrf_token, opened.csrf_token);
        assert!(s.touch("not-the-id", None).await.is_none());
        assert!(s.close(&id).await);
        assert!(s.touch(&id, None).await.is_none());
    }

    #[tokio::test]
    async fn idle_and_absolute_expiry_end_a_session() {
        let s = sessions(1, 60_000);
        let (id, _) = open(&s, None).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(s.touch(&id, None).await.is_none(), "idle");
        let s = sessions(60_000, 1);
        let (id, _) = open(&s, None).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(s.touch(&id, None).await.is_none(), "absolute");
    }

    #[tokio::test]
    async fn timeouts_of_centuries_do_not_overflow_the_clock() {
        let forever = Duration::from_secs(u64::MAX / 2);
        let s = Sessions::new(
            Timeouts {
                idle: forever,
                absolute: forever,
            },
            None,
        );
        let (id, opened) = open(&s, None).await;
        assert_eq!(opened.expires_at, DateTime::<Utc>::MAX_UTC);
        assert!(s.touch(&id, None).await.is_some());
        assert_eq!(s.count().await, 1);
    }

    #[tokio::test]
    async fn rotating_the_master_key_ends_its_sessions() {
        let s = sessions(60_000, 60_000);
        let old = KeyHash::of("sk-old");
        let (id, _) = open(&s, Some(old)).await;
        assert!(s.touch(&id, Some(&old)).await.is_some());
        assert!(s.touch(&id, Some(&KeyHash::of("sk-new"))).await.is_none());
        assert!(s.touch(&id, Some(&old)).await.is_none(), "gone for good");
    }

    /// What a restart does: a new `Sessions` over the same database.
    #[tokio::test]
    async fn stored_sessions_outlive_the_process_and_logout_ends_them_everywhere() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::connect(&url, None).await.expect("db");
        let before = Sessions::new(timeouts(60_000, 60_000), Some(db.clone()));
        let master = KeyHash::of("sk-master");
        let (id, opened) = open(&before, Some(master)).await;
        let viewer = before
            .open("ann".into(), Role::Viewer, None)
            .await
            .expect("opened");

        let after = Sessions::new(timeouts(60_000, 60_000), Some(db.clone()));
        let found = after.touch(&id, Some(&master)).await.expect("restored");
        assert_eq!(found.csrf_token, opened.csrf_token);
        assert_eq!(found.role, Role::Admin);
        assert_eq!(
            found.expires_at.timestamp_millis(),
            opened.expires_at.timestamp_millis()
        );
        let v = after.touch(&viewer.0, None).await.expect("restored");
        assert_eq!((v.user_id.as_str(), v.role), ("ann", Role::Viewer));
        assert_eq!(after.count().await, 2);
        // Only the hash is stored: the cookie's ids are nowhere in the
        // database's files (the WAL holds the latest writes).
        let mut bytes = Vec::new();
        for f in ["t.db", "t.db-wal"] {
            bytes.extend(std::fs::read(dir.path().join(f)).unwrap_or_default());
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains(&KeyHash::of(&id).to_hex()),
            "the hash is stored"
        );
        assert!(!text.contains(&id) && !text.contains(&viewer.0));

        assert!(after.close(&id).await);
        let again = Sessions::new(timeouts(60_000, 60_000), Some(db.clone()));
        assert!(
            again.touch(&id, Some(&master)).await.is_none(),
            "logged out for good"
        );
        // A rotated master key ends the stored session too.
        let (id2, _) = open(&again, Some(master)).await;
        assert!(
            again
                .touch(&id2, Some(&KeyHash::of("sk-new")))
                .await
                .is_none()
        );
        let last = Sessions::new(timeouts(60_000, 60_000), Some(db));
        assert!(last.touch(&id2, Some(&master)).await.is_none());
        assert_eq!(
            last.count().await,
            1,
            "the viewer's session is the one left"
        );
    }

    #[test]
    fn the_sixth_failure_within_a_minute_is_refused() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(l.blocked("ip|admin").is_none());
            l.failed("ip|admin");
        }
        assert!(l.blocked("ip|admin").is_some());
        assert!(l.blocked("ip|other").is_none(), "per user name");
        l.succeeded("ip|admin");
        assert!(l.blocked("ip|admin").is_none());
    }
}
