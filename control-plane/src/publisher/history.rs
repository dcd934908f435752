//! The recent deltas, so a data plane one or a few versions behind gets
//! the changes it missed instead of the whole snapshot.

use super::Published;
use std::collections::VecDeque;
use std::sync::Arc;

/// Enough for a burst of management writes between two deliveries on a
/// slow stream; past it the data plane gets a full snapshot.
const KEEP: usize = 512;

#[derive(Default)]
pub struct History {
    recent: VecDeque<Arc<Published>>,
}

impl History {
    pub fn record(&mut self, published: &Arc<Published>) {
        if published.delta.is_none() {
            // A full snapshot breaks the chain: nothing before it can be
            // brought forward by deltas.
            self.recent.clear();
        }
        self.recent.push_back(Arc::clone(published));
        while self.recent.len() > KEEP {
            self.recent.pop_front();
        }
    }

    /// The deltas that lead from `(version, hash)` to `target`, in order;
    /// `None` when the chain is not complete (a full snapshot is needed).
    pub fn chain(&self, version: u64, hash: &str, target: u64) -> Option<Vec<Arc<Published>>> {
        let start = self.recent.iter().position(|p| {
            p.delta
                .as_ref()
                .is_some_and(|d| d.base_version == version && d.base_hash == hash)
        })?;
        let mut out = Vec::new();
        let mut at = (version, hash.to_string());
        for p in self.recent.iter().skip(start) {
            let delta = p.delta.as_ref()?;
            if delta.base_version != at.0 || delta.base_hash != at.1 {
                return None;
            }
            out.push(Arc::clone(p));
            at = (p.version, p.content_hash.clone());
            if p.version == target {
                return Some(out);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::Delta;
    use bytes::Bytes;

    fn published(version: u64, base: Option<u64>) -> Arc<Published> {
        Arc::new(Published {
            version,
            content_hash: format!("h{version}"),
            master_key_hash: None,
            max_budget: None,
            created_at: chrono::Utc::now(),
            delta: base.map(|b| Delta {
                base_version: b,
                base_hash: format!("h{b}"),
                payload: Bytes::new(),
            }),
        })
    }

    #[test]
    fn chains_deltas_and_gives_up_on_gaps() {
        let mut h = History::default();
        h.record(&published(1, None));
        h.record(&published(2, Some(1)));
        h.record(&published(3, Some(2)));
        let versions = |c: Option<Vec<Arc<Published>>>| {
            c.map(|c| c.iter().map(|p| p.version).collect::<Vec<_>>())
        };
        assert_eq!(versions(h.chain(1, "h1", 3)), Some(vec![2, 3]));
        assert_eq!(versions(h.chain(2, "h2", 3)), Some(vec![3]));
        assert_eq!(versions(h.chain(1, "other", 3)), None);
        assert_eq!(versions(h.chain(0, "", 3)), None);
        h.record(&published(4, None));
        assert_eq!(versions(h.chain(3, "h3", 4)), None);
    }
}
