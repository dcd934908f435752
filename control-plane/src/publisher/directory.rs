//! Reading the directory (keys, teams, users, end users) from the database
//! into snapshot entries: all of it for a full build, only the changed rows
//! for a management write.

use super::PublishError;
use crate::db::{Customers, Teams, Users, VirtualKeys};
use std::collections::BTreeMap;
use tollgate_shared::snapshot::{
    DirectoryChange, DirectoryEntry, EntryId, EntryKind, EntryStore, Snapshot, VirtualKey, stored,
};

/// What a management write changed, by id; the publisher re-reads exactly
/// these rows.
#[derive(Debug, Default, Clone)]
pub struct Changed {
    /// Key tokens (SHA-256 hex).
    pub keys: Vec<String>,
    pub teams: Vec<String>,
    pub users: Vec<String>,
    pub customers: Vec<String>,
}

impl Changed {
    pub fn keys(tokens: impl IntoIterator<Item = String>) -> Self {
        Self {
            keys: tokens.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn teams(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            teams: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn users(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            users: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn customers(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            customers: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Keys that went with the change (a deleted team's or user's keys).
    pub fn with_keys(mut self, tokens: impl IntoIterator<Item = String>) -> Self {
        self.keys.extend(tokens);
        self
    }
}

/// The repositories the directory is read from.
pub struct DirectorySource {
    pub keys: VirtualKeys,
    pub teams: Teams,
    pub users: Users,
    pub customers: Customers,
}

impl DirectorySource {
    /// Every live entry into `snapshot` (a full build).
    pub async fn fill(&self, snapshot: &mut Snapshot) -> Result<(), PublishError> {
        snapshot.keys = self
            .keys
            .active()
            .await?
            .iter()
            .filter_map(crate::keys::key_to_snapshot)
            .collect();
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
        Ok(())
    }

    /// The rows `changed` names, re-read, as a change to `store`: entries
    /// whose bytes did not change and removals of absent ids are left out,
    /// so a write that changed nothing publishes nothing. `key_owners` (a
    /// key's team and user, by token) finds the keys of a team or user that
    /// is gone, in case the caller did not name them.
    pub async fn change(
        &self,
        changed: &Changed,
        store: &EntryStore,
        key_owners: &BTreeMap<String, (Option<String>, Option<String>)>,
    ) -> Result<(DirectoryChange, Vec<VirtualKey>), PublishError> {
        let mut out = Collector {
            store,
            change: DirectoryChange::default(),
        };
        let mut keys = Vec::new();
        let mut tokens: Vec<String> = changed.keys.clone();
        for id in &changed.teams {
            match self.teams.find(id).await? {
                Some(row) => out.put(&crate::teams::team_to_snapshot(&row))?,
                None => {
                    out.remove(EntryKind::Team, id);
                    tokens.extend(owned_by(key_owners, |(team, _)| {
                        team.as_deref() == Some(id)
                    }));
                }
            }
        }
        for id in &changed.users {
            match self.users.find(id).await? {
                Some(row) => out.put(&crate::users::user_to_snapshot(&row))?,
                None => {
                    out.remove(EntryKind::User, id);
                    tokens.extend(owned_by(key_owners, |(_, user)| {
                        user.as_deref() == Some(id)
                    }));
                }
            }
        }
        for id in &changed.customers {
            match self.customers.find(id).await? {
                Some(row) => out.put(&crate::customers::customer_to_snapshot(&row))?,
                None => out.remove(EntryKind::Customer, id),
            }
        }
        tokens.sort();
        tokens.dedup();
        for token in &tokens {
            let key = self
                .keys
                .find(token)
                .await?
                .filter(|row| row.deleted_at.is_none())
                .as_ref()
                .and_then(crate::keys::key_to_snapshot);
            match key {
                Some(key) => {
                    out.put(&key)?;
                    keys.push(key);
                }
                None => out.remove(EntryKind::Key, token),
            }
        }
        Ok((out.change, keys))
    }
}

fn owned_by(
    owners: &BTreeMap<String, (Option<String>, Option<String>)>,
    matches: impl Fn(&(Option<String>, Option<String>)) -> bool,
) -> Vec<String> {
    owners
        .iter()
        .filter(|(_, owner)| matches(owner))
        .map(|(token, _)| token.clone())
        .collect()
}

struct Collector<'a> {
    store: &'a EntryStore,
    change: DirectoryChange,
}

impl Collector<'_> {
    fn put<T: DirectoryEntry>(&mut self, entry: &T) -> Result<(), PublishError> {
        let (id, encoded) = stored(entry);
        let encoded = encoded?;
        if self
            .store
            .get(&id)
            .is_none_or(|old| old.digest != encoded.digest)
        {
            self.change.upserts.push((id, encoded));
        }
        Ok(())
    }

    fn remove(&mut self, kind: EntryKind, id: &str) {
        let id: EntryId = (kind, id.to_string());
        if self.store.get(&id).is_some() {
            self.change.removals.push(id);
        }
    }
}
