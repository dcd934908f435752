//! Deployments set aside after failures. Lives outside the `Runtime` so a
//! snapshot swap does not forgive a failing deployment. Per data plane: a
//! fleet-wide view is future work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Cooldowns {
    until: Mutex<HashMap<String, Instant>>,
}

impl Cooldowns {
    pub fn cool(&self, deployment_id: &str, duration: Duration) {
        let until = Instant::now() + duration;
        let mut map = self.lock();
        let entry = map.entry(deployment_id.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }

    pub fn is_cooling(&self, deployment_id: &str) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        match map.get(deployment_id) {
            Some(until) if *until > now => true,
            Some(_) => {
                map.remove(deployment_id);
                false
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // Never held across an await; poisoning only follows a panic here.
        self.until.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooling_ends_by_itself() {
        let c = Cooldowns::default();
        assert!(!c.is_cooling("d"));
        c.cool("d", Duration::from_millis(30));
        assert!(c.is_cooling("d"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!c.is_cooling("d"));
    }
}
