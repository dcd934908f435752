//! What a native response's body shows the client: the provider's id
//! replaced by one that names the deployment (sealed for the caller), so
//! `GET`, `DELETE` and `previous_response_id` find their way back to it.

use super::ids::Sealer;
use serde_json::{Map, Value};

pub struct NativeIds {
    sealer: Sealer,
    deployment: String,
    /// The `previous_response_id` the client sent (ours), echoed back in
    /// place of the provider's.
    previous: Option<String>,
    /// One id per upstream id: every event of a stream shows the same.
    sealed: Option<(String, String)>,
}

impl NativeIds {
    pub fn new(sealer: Sealer, deployment: String, previous: Option<String>) -> Self {
        NativeIds {
            sealer,
            deployment,
            previous,
            sealed: None,
        }
    }

    /// Answers about a response the client names by `ours`: it keeps that id.
    pub fn knowing(mut self, upstream: &str, ours: &str) -> Self {
        self.sealed = Some((upstream.to_string(), ours.to_string()));
        self
    }

    /// Our id for the provider's `upstream` id.
    pub fn id_for(&mut self, upstream: &str) -> Option<String> {
        if let Some((up, ours)) = &self.sealed
            && up == upstream
        {
            return Some(ours.clone());
        }
        let ours = self.sealer.seal_native(&self.deployment, upstream)?;
        self.sealed = Some((upstream.to_string(), ours.clone()));
        Some(ours)
    }

    /// Rewrites a `response` object's `id` and `previous_response_id`.
    pub fn rewrite(&mut self, response: &mut Map<String, Value>) {
        if let Some(upstream) = response
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            && let Some(ours) = self.id_for(&upstream)
        {
            response.insert("id".into(), Value::String(ours));
        }
        if let Some(upstream_previous) = response
            .get("previous_response_id")
            .and_then(Value::as_str)
            .map(str::to_string)
        {
            let ours = match &self.previous {
                Some(previous) => Some(previous.clone()),
                None => self
                    .sealer
                    .seal_native(&self.deployment, &upstream_previous),
            };
            if let Some(ours) = ours {
                response.insert("previous_response_id".into(), Value::String(ours));
            }
        }
    }

    /// A whole body with its ids rewritten (unchanged if it is not JSON).
    pub fn rewrite_body(&mut self, body: &[u8]) -> Option<Vec<u8>> {
        let mut object: Map<String, Value> = serde_json::from_slice(body).ok()?;
        self.rewrite(&mut object);
        serde_json::to_vec(&object).ok()
    }
}
