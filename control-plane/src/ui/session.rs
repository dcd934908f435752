//! Dashboard sessions, held by the control plane (data planes tunnel every
//! `/ui/api` call here, so one login works behind any replica).
//!
//! The browser holds a random 256-bit id in an `HttpOnly` cookie; only its
//! SHA-256 is kept here, so a dump of this map opens nothing. A session
//! dies on logout, after `idle` without use, at its absolute expiry, or when
//! the master key it was opened with is no longer the master key. Sessions
//! are in memory: a control-plane restart logs everyone out (no secret
//! reaches the database; the cost is one login).

use crate::grpc::Principal;
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
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub role: Role,
    /// Sent back by `/session` and required on every write (the page keeps
    /// it in memory only).
    pub csrf_token: String,
    pub created: Instant,
    pub last_seen: Instant,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The master key this session was opened with, if it was: rotating the
    /// master key ends such sessions.
    pub master_key: Option<KeyHash>,
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
}

/// 32 random bytes, hex.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

impl Sessions {
    pub fn new(timeouts: Timeouts) -> Self {
        Self {
            by_hash: Mutex::new(HashMap::new()),
            timeouts,
        }
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<KeyHash, Session>> {
        self.by_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session; returns its id (for the cookie only) and the session.
    pub fn open(
        &self,
        user_id: String,
        role: Role,
        master_key: Option<KeyHash>,
    ) -> (String, Session) {
        let id = random_token();
        let now = Instant::now();
        let absolute =
            chrono::Duration::from_std(self.timeouts.absolute).unwrap_or(chrono::Duration::zero());
        let session = Session {
            user_id,
            role,
            csrf_token: random_token(),
            created: now,
            last_seen: now,
            expires_at: chrono::Utc::now() + absolute,
            master_key,
        };
        let mut map = self.map();
        // Expired sessions go whenever a new one comes: the map never
        // holds more than the sessions of the last `absolute` period.
        map.retain(|_, s| self.alive(s, now));
        map.insert(KeyHash::of(&id), session.clone());
        (id, session)
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) < self.timeouts.idle
            && now.duration_since(s.created) < self.timeouts.absolute
    }

    /// The live session behind a cookie's id, touched (idle expiry restarts).
    /// `master_key`: the current master key's hash.
    pub fn touch(&self, id: &str, master_key: Option<&KeyHash>) -> Option<Session> {
        let hash = KeyHash::of(id);
        let now = Instant::now();
        let mut map = self.map();
        let session = map.get_mut(&hash)?;
        let rotated = session
            .master_key
            .as_ref()
            .is_some_and(|k| Some(k) != master_key);
        if rotated || !self.alive(session, now) {
            map.remove(&hash);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Still open (without counting as use: a long-lived stream does not
    /// keep an idle session alive).
    pub fn is_live(&self, id: &str) -> bool {
        let now = Instant::now();
        self.map()
            .get(&KeyHash::of(id))
            .is_some_and(|s| self.alive(s, now))
    }

    pub fn close(&self, id: &str) -> bool {
        self.map().remove(&KeyHash::of(id)).is_some()
    }

    pub fn count(&self) -> usize {
        let now = Instant::now();
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

    fn sessions(idle: u64, absolute: u64) -> Sessions {
        Sessions::new(Timeouts {
            idle: Duration::from_millis(idle),
            absolute: Duration::from_millis(absolute),
        })
    }

    #[test]
    fn a_session_is_found_by_its_id_only_until_closed() {
        let s = sessions(60_000, 60_000);
        let (id, opened) = s.open("admin".into(), Role::Admin, None);
        assert_eq!(id.len(), 64);
        let found = s.touch(&id, None).expect("live");
        assert_eq!(found.csrf_token, opened.csrf_token);
        assert!(s.touch("not-the-id", None).is_none());
        assert!(s.close(&id));
        assert!(s.touch(&id, None).is_none());
    }

    #[test]
    fn idle_and_absolute_expiry_end_a_session() {
        let s = sessions(1, 60_000);
        let (id, _) = s.open("admin".into(), Role::Admin, None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.touch(&id, None).is_none(), "idle");
        let s = sessions(60_000, 1);
        let (id, _) = s.open("admin".into(), Role::Admin, None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.touch(&id, None).is_none(), "absolute");
    }

    #[test]
    fn rotating_the_master_key_ends_its_sessions() {
        let s = sessions(60_000, 60_000);
        let old = KeyHash::of("sk-old");
        let (id, _) = s.open("admin".into(), Role::Admin, Some(old));
        assert!(s.touch(&id, Some(&old)).is_some());
        assert!(s.touch(&id, Some(&KeyHash::of("sk-new"))).is_none());
        assert!(s.touch(&id, Some(&old)).is_none(), "gone for good");
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
