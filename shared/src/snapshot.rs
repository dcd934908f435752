//! The snapshot: everything a data plane needs to serve, versioned by the
//! control plane and applied atomically by each data plane.
//!
//! This is the domain type; on the wire it travels as the JSON payload of
//! `tollgate.v1.Snapshot` (format `PAYLOAD_FORMAT_JSON_V1`), hashed with
//! SHA-256 so both ends can prove they hold the same bytes.

use crate::config::{LitellmParams, LitellmSettings, LoadedConfig, ModelInfo, RouterSettings};
use crate::keys::{KeyHash, sha256_hex};
use crate::provider::ProviderKind;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

mod digest;
mod store;
pub mod wire;

pub use digest::{EntryKind, content_hash};
pub use store::{DirectoryChange, EntryId, EntryStore, StoredEntry};
use wire::Frame;

/// Bumped on any change a data plane must understand to serve correctly;
/// a data plane NACKs schemas it does not know instead of misreading them.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema: u32,
    /// SHA-256 of `general_settings.master_key`: data planes authenticate the
    /// master key without holding it.
    pub master_key_hash: Option<KeyHash>,
    pub deployments: Vec<Deployment>,
    pub router_settings: RouterSettings,
    pub litellm_settings: LitellmSettings,
    /// Settings sections as written (secrets removed), for keys that have no
    /// behaviour yet.
    pub raw_settings: BTreeMap<String, Value>,
    /// Live virtual keys (deleted ones are absent: absence is revocation).
    #[serde(default)]
    pub keys: Vec<VirtualKey>,
    /// Live teams, internal users and end users (customers): what a data
    /// plane needs to enforce their model lists, blocks and limits.
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub customers: Vec<Customer>,
}

/// Limits any entity (key, team, user, end user) can carry. Budgets are in
/// picodollars; the spend itself is never in the snapshot (it changes on
/// every request): the control plane enforces budgets through leases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_budget_picos: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_budget_picos: Option<u64>,
}

/// A team: its members' keys inherit its model list, block and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub team_id: String,
    pub team_alias: Option<String>,
    /// Empty = every model.
    pub models: Vec<String>,
    pub blocked: bool,
    #[serde(flatten)]
    pub limits: Limits,
    #[serde(default)]
    pub model_rpm_limit: BTreeMap<String, u64>,
    #[serde(default)]
    pub model_tpm_limit: BTreeMap<String, u64>,
}

/// An internal user (`/user/new`): owns keys, may be in teams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    /// Empty = every model.
    pub models: Vec<String>,
    #[serde(flatten)]
    pub limits: Limits,
}

/// An end user of an application (`/customer/new`), named by the request's
/// `user` field or `x-litellm-end-user-id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub user_id: String,
    pub blocked: bool,
    #[serde(flatten)]
    pub limits: Limits,
}

/// What a data plane needs to know about a virtual key to enforce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualKey {
    pub token: KeyHash,
    pub key_name: String,
    pub alias: Option<String>,
    /// Empty = every model.
    pub models: Vec<String>,
    /// Unix milliseconds.
    pub expires_at_ms: Option<i64>,
    pub blocked: bool,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub rpm_limit: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
    pub model_rpm_limit: BTreeMap<String, u64>,
    pub model_tpm_limit: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_budget_picos: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_budget_picos: Option<u64>,
    /// Model name aliases for this key (`{"gpt-4": "gpt-4o"}`).
    pub aliases: BTreeMap<String, String>,
    pub tags: Vec<String>,
}

impl VirtualKey {
    /// A live key with no restrictions: every model, no limits, no expiry
    /// (what `/key/generate` with an empty body makes). Callers set the
    /// fields they care about with struct-update syntax.
    pub fn unrestricted(token: KeyHash) -> Self {
        Self {
            token,
            key_name: "sk-...".into(),
            alias: None,
            models: Vec::new(),
            expires_at_ms: None,
            blocked: false,
            team_id: None,
            user_id: None,
            rpm_limit: None,
            tpm_limit: None,
            max_parallel_requests: None,
            model_rpm_limit: BTreeMap::new(),
            model_tpm_limit: BTreeMap::new(),
            max_budget_picos: None,
            soft_budget_picos: None,
            aliases: BTreeMap::new(),
            tags: Vec::new(),
        }
    }
}

/// One entry of `model_list`: a deployment of the model group `model_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// `model_info.id`, or derived from the entry so it is stable across
    /// reloads.
    pub id: String,
    pub model_name: String,
    pub provider: ProviderKind,
    /// The model name the provider expects (prefix stripped).
    pub upstream_model: String,
    pub params: LitellmParams,
    /// `litellm_params` keys without a typed field: default request params.
    pub extra_params: BTreeMap<String, Value>,
    pub model_info: ModelInfo,
    pub model_info_extra: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("payload hash {actual} does not match the announced {expected}")]
    HashMismatch { expected: String, actual: String },
    #[error(
        "snapshot schema {found} is not supported by this data plane (it supports {SCHEMA_VERSION})"
    )]
    UnsupportedSchema { found: u32 },
    #[error("snapshot payload is not valid: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("snapshot payload is not valid: {0}")]
    Wire(#[from] wire::WireError),
    #[error("snapshot payload is not valid: {0}")]
    Malformed(&'static str),
}

/// A snapshot in its wire form: bytes and their hash, computed once.
#[derive(Debug, Clone)]
pub struct EncodedSnapshot {
    pub payload: Vec<u8>,
    pub content_hash: String,
}

/// Sections of the raw config never sent to data planes: they hold secrets
/// (`environment_variables`) or are already typed (`model_list`).
const NOT_CARRIED: [&str; 2] = ["model_list", "environment_variables"];
/// `general_settings` keys only the control plane may see.
const CONTROL_PLANE_ONLY: [&str; 2] = ["master_key", "database_url"];

impl Snapshot {
    pub fn from_config(loaded: &LoadedConfig) -> Snapshot {
        let config = &loaded.config;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let deployments = config
            .model_list
            .iter()
            .map(|entry| {
                let (provider, upstream) = ProviderKind::parse(&entry.litellm_params.model);
                let id = match &entry.model_info.id {
                    Some(id) => id.clone(),
                    None => {
                        let base = derived_id(&entry.model_name, &entry.litellm_params);
                        let n = seen.entry(base.clone()).or_insert(0);
                        *n += 1;
                        if *n == 1 { base } else { format!("{base}-{n}") }
                    }
                };
                Deployment {
                    id,
                    model_name: entry.model_name.clone(),
                    provider,
                    upstream_model: upstream.to_string(),
                    params: entry.litellm_params.clone(),
                    extra_params: entry.litellm_params.extra.clone(),
                    model_info: entry.model_info.clone(),
                    model_info_extra: entry.model_info.extra.clone(),
                }
            })
            .collect();

        let mut raw_settings: BTreeMap<String, Value> = loaded
            .raw_sections
            .iter()
            .filter(|(k, _)| !NOT_CARRIED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(Value::Object(general)) = raw_settings.get_mut("general_settings") {
            for key in CONTROL_PLANE_ONLY {
                general.remove(key);
            }
        }

        Snapshot {
            schema: SCHEMA_VERSION,
            master_key_hash: config
                .general_settings
                .master_key
                .as_ref()
                .map(|k| KeyHash::of(k.expose())),
            deployments,
            router_settings: config.router_settings.clone(),
            litellm_settings: config.litellm_settings.clone(),
            raw_settings,
            keys: Vec::new(),
            teams: Vec::new(),
            users: Vec::new(),
            customers: Vec::new(),
        }
    }

    /// The config part: the snapshot without its directory, as JSON.
    pub fn config_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&ConfigPart {
            schema: self.schema,
            master_key_hash: &self.master_key_hash,
            deployments: &self.deployments,
            router_settings: &self.router_settings,
            litellm_settings: &self.litellm_settings,
            raw_settings: &self.raw_settings,
        })
    }

    /// The snapshot as stored entries: what the control plane keeps and
    /// updates one entry at a time.
    pub fn entry_store(&self) -> Result<EntryStore, serde_json::Error> {
        let mut store = EntryStore::new(Bytes::from(self.config_bytes()?));
        for (id, entry) in self
            .keys
            .iter()
            .map(stored)
            .chain(self.teams.iter().map(stored))
            .chain(self.users.iter().map(stored))
            .chain(self.customers.iter().map(stored))
        {
            store.upsert(id, entry?);
        }
        Ok(store)
    }

    /// Serializes deterministically: the same snapshot always yields the same
    /// content hash (`digest.rs`), whatever the order of its entries.
    pub fn encode(&self) -> Result<EncodedSnapshot, serde_json::Error> {
        let store = self.entry_store()?;
        Ok(EncodedSnapshot {
            payload: store.full_payload(),
            content_hash: store.content_hash(),
        })
    }

    /// Verifies the hash, then the schema, then decodes.
    pub fn decode(payload: &[u8], expected_hash: &str) -> Result<Snapshot, SnapshotError> {
        decode_full(payload, expected_hash).map(|(snapshot, _)| snapshot)
    }
}

/// The snapshot without its directory, as the config frame carries it.
#[derive(Serialize)]
struct ConfigPart<'a> {
    schema: u32,
    master_key_hash: &'a Option<KeyHash>,
    deployments: &'a [Deployment],
    router_settings: &'a RouterSettings,
    litellm_settings: &'a LitellmSettings,
    raw_settings: &'a BTreeMap<String, Value>,
}

/// An entry of the snapshot's directory.
pub trait DirectoryEntry: Serialize + serde::de::DeserializeOwned {
    const KIND: EntryKind;
    fn entry_id(&self) -> String;
}

impl DirectoryEntry for VirtualKey {
    const KIND: EntryKind = EntryKind::Key;
    fn entry_id(&self) -> String {
        self.token.to_hex()
    }
}

impl DirectoryEntry for Team {
    const KIND: EntryKind = EntryKind::Team;
    fn entry_id(&self) -> String {
        self.team_id.clone()
    }
}

impl DirectoryEntry for User {
    const KIND: EntryKind = EntryKind::User;
    fn entry_id(&self) -> String {
        self.user_id.clone()
    }
}

impl DirectoryEntry for Customer {
    const KIND: EntryKind = EntryKind::Customer;
    fn entry_id(&self) -> String {
        self.user_id.clone()
    }
}

/// One entry encoded for the store and the wire.
pub fn stored<T: DirectoryEntry>(entry: &T) -> (EntryId, Result<StoredEntry, serde_json::Error>) {
    (
        (T::KIND, entry.entry_id()),
        serde_json::to_vec(entry).map(|bytes| StoredEntry::new(T::KIND, Bytes::from(bytes))),
    )
}

fn check_schema(config: &[u8]) -> Result<(), SnapshotError> {
    #[derive(Deserialize)]
    struct Header {
        schema: u32,
    }
    let header: Header = serde_json::from_slice(config)?;
    if header.schema != SCHEMA_VERSION {
        return Err(SnapshotError::UnsupportedSchema {
            found: header.schema,
        });
    }
    Ok(())
}

/// Entries decoded from frames, typed, in the order they came.
#[derive(Debug, Default)]
pub struct TypedEntries {
    pub keys: Vec<VirtualKey>,
    pub teams: Vec<Team>,
    pub users: Vec<User>,
    pub customers: Vec<Customer>,
}

impl TypedEntries {
    /// Parses one entry's bytes; returns its id.
    fn push(&mut self, kind: EntryKind, bytes: &[u8]) -> Result<String, SnapshotError> {
        fn parse<T: DirectoryEntry>(
            bytes: &[u8],
            into: &mut Vec<T>,
        ) -> Result<String, SnapshotError> {
            let entry: T = serde_json::from_slice(bytes)?;
            let id = entry.entry_id();
            into.push(entry);
            Ok(id)
        }
        match kind {
            EntryKind::Key => parse(bytes, &mut self.keys),
            EntryKind::Team => parse(bytes, &mut self.teams),
            EntryKind::User => parse(bytes, &mut self.users),
            EntryKind::Customer => parse(bytes, &mut self.customers),
        }
    }
}

/// A full payload: verified against `expected_hash`, schema checked,
/// decoded; also returned as a store, the base for later deltas.
pub fn decode_full(
    payload: &[u8],
    expected_hash: &str,
) -> Result<(Snapshot, EntryStore), SnapshotError> {
    let frames = wire::frames(payload)?;
    let mut config = None;
    let mut typed = TypedEntries::default();
    let mut raw = Vec::with_capacity(frames.len());
    for frame in frames {
        match frame {
            Frame::Config(bytes) if config.is_none() => config = Some(bytes),
            Frame::Config(_) => return Err(SnapshotError::Malformed("two config frames")),
            Frame::Upsert(kind, bytes) => raw.push((kind, bytes)),
            Frame::Remove(..) => {
                return Err(SnapshotError::Malformed("a removal in a full snapshot"));
            }
        }
    }
    let config = config.ok_or(SnapshotError::Malformed("no config frame"))?;
    let mut store = EntryStore::new(Bytes::copy_from_slice(config));
    for (kind, bytes) in &raw {
        let entry = StoredEntry::new(*kind, Bytes::copy_from_slice(bytes));
        // The id comes from the entry itself, so it is parsed first; the
        // hash is checked below over exactly these bytes.
        let id = typed.push(*kind, bytes)?;
        store.upsert((*kind, id), entry);
    }
    let actual = store.content_hash();
    if actual != expected_hash {
        return Err(SnapshotError::HashMismatch {
            expected: expected_hash.to_string(),
            actual,
        });
    }
    check_schema(config)?;
    let mut snapshot: Snapshot = serde_json::from_slice(config)?;
    snapshot.keys = typed.keys;
    snapshot.teams = typed.teams;
    snapshot.users = typed.users;
    snapshot.customers = typed.customers;
    Ok((snapshot, store))
}

/// A delta payload: the change for the store and the entries it puts, typed.
pub fn decode_delta(payload: &[u8]) -> Result<(DirectoryChange, TypedEntries), SnapshotError> {
    let mut change = DirectoryChange::default();
    let mut typed = TypedEntries::default();
    for frame in wire::frames(payload)? {
        match frame {
            Frame::Config(_) => return Err(SnapshotError::Malformed("a config frame in a delta")),
            Frame::Upsert(kind, bytes) => {
                let id = typed.push(kind, bytes)?;
                change.upserts.push((
                    (kind, id),
                    StoredEntry::new(kind, Bytes::copy_from_slice(bytes)),
                ));
            }
            Frame::Remove(kind, id) => change.removals.push((kind, id.to_string())),
        }
    }
    Ok((change, typed))
}

/// Identity of a deployment without `model_info.id`: what it serves and
/// where, not its credentials, so rotating a key keeps the id.
fn derived_id(model_name: &str, params: &LitellmParams) -> String {
    let identity = format!(
        "{model_name}\0{}\0{}\0{}",
        params.model,
        params.api_base.as_deref().unwrap_or(""),
        params.api_version.as_deref().unwrap_or("")
    );
    sha256_hex(identity.as_bytes())[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

    const CONFIG: &str = r#"
environment_variables:
  SECRET_THING: hunter2
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-provider}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-provider}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet}
    model_info: {id: claude-main}
general_settings:
  master_key: sk-1234
  database_url: postgres://secret@db/x
  alerting: [slack]
"#;

    fn snapshot() -> Snapshot {
        let loaded = load(CONFIG, &BTreeMap::new()).expect("valid");
        Snapshot::from_config(&loaded)
    }

    #[test]
    fn encoding_is_deterministic_and_round_trips() {
        let a = snapshot().encode().expect("encodes");
        let b = snapshot().encode().expect("encodes");
        assert_eq!(a.payload, b.payload);
        assert_eq!(a.content_hash, b.content_hash);
        let decoded = Snapshot::decode(&a.payload, &a.content_hash).expect("decodes");
        assert_eq!(decoded, snapshot());
    }

    #[test]
    fn control_plane_secrets_stay_home() {
        let encoded = snapshot().encode().expect("encodes");
        let text = String::from_utf8_lossy(&encoded.payload);
        assert!(!text.contains("sk-1234"), "master key leaked");
        assert!(!text.contains("postgres://"), "database url leaked");
        assert!(!text.contains("hunter2"), "environment leaked");
        assert!(text.contains("alerting"));
    }

    #[test]
    fn deployment_ids_are_stable_and_unique() {
        let s = snapshot();
        let ids: Vec<_> = s.deployments.iter().map(|d| d.id.clone()).collect();
        assert_eq!(ids[2], "claude-main");
        assert_ne!(ids[0], ids[1]);
        assert!(ids[1].starts_with(&ids[0]));
        assert_eq!(
            ids,
            snapshot()
                .deployments
                .iter()
                .map(|d| d.id.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(s.deployments[2].provider, ProviderKind::Anthropic);
        assert_eq!(s.deployments[0].upstream_model, "gpt-4o");
    }

    #[test]
    fn tampered_or_foreign_payloads_are_rejected() {
        let encoded = snapshot().encode().expect("encodes");
        let mut bad = encoded.payload.clone();
        bad[10] ^= 1;
        assert!(matches!(
            Snapshot::decode(&bad, &encoded.content_hash),
            Err(SnapshotError::HashMismatch { .. })
        ));
        let mut future = snapshot();
        future.schema = 99;
        let f = future.encode().expect("encodes");
        assert!(matches!(
            Snapshot::decode(&f.payload, &f.content_hash),
            Err(SnapshotError::UnsupportedSchema { found: 99 })
        ));
    }

    fn key(n: u8) -> VirtualKey {
        VirtualKey::unrestricted(KeyHash::of(&format!("sk-{n}")))
    }

    #[test]
    fn directory_round_trips_and_order_does_not_change_the_hash() {
        let mut s = snapshot();
        s.keys = vec![key(1), key(2), key(3)];
        let a = s.encode().expect("encodes");
        s.keys.reverse();
        let b = s.encode().expect("encodes");
        assert_eq!(a.content_hash, b.content_hash);
        let decoded = Snapshot::decode(&a.payload, &a.content_hash).expect("decodes");
        assert_eq!(decoded.keys.len(), 3);
        assert!(decoded.keys.contains(&key(2)));
    }

    #[test]
    fn a_delta_lands_on_the_hash_of_the_full_snapshot() {
        let mut before = snapshot();
        before.keys = vec![key(1), key(2)];
        let mut after = snapshot();
        let mut blocked = key(2);
        blocked.blocked = true;
        after.keys = vec![blocked.clone(), key(3)];
        let (_, mut store) = {
            let e = before.encode().expect("encodes");
            decode_full(&e.payload, &e.content_hash).expect("decodes")
        };
        let mut change = DirectoryChange::default();
        for k in [&blocked, &key(3)] {
            let (id, entry) = stored(k);
            change.upserts.push((id, entry.expect("encodes")));
        }
        change
            .removals
            .push((EntryKind::Key, key(1).token.to_hex()));
        let (decoded, typed) = decode_delta(&change.encode()).expect("decodes");
        assert_eq!(typed.keys, vec![blocked, key(3)]);
        let expected = after.encode().expect("encodes").content_hash;
        assert_eq!(store.hash_after(&decoded), expected);
        store.apply(&decoded);
        assert_eq!(store.content_hash(), expected);
        let full = store.full_payload();
        let (rebuilt, _) = decode_full(&full, &expected).expect("decodes");
        assert_eq!(rebuilt.keys.len(), 2);
    }
}
