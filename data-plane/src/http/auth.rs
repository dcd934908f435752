//! Who is calling: the key from any header LiteLLM accepts, checked by hash
//! against the snapshot.

use super::error::ApiError;
use crate::runtime::Runtime;
use axum::http::{HeaderMap, StatusCode, header};
use std::sync::Arc;
use tollgate_shared::keys::{KeyHash, abbreviate};
use tollgate_shared::snapshot::VirtualKey;

/// Checked after `Authorization`, in LiteLLM's order.
const KEY_HEADERS: [&str; 5] = [
    "x-litellm-api-key",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
];

pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let key = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        if !key.is_empty() {
            return Some(key);
        }
    }
    KEY_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .find(|k| !k.is_empty())
}

/// Who is calling, as far as the request path needs to know.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_hash: KeyHash,
    /// `None` for the master key (proxy admin).
    pub key: Option<Arc<VirtualKey>>,
}

/// `all-proxy-models` in a key's `models` means every model (LiteLLM).
const ALL_MODELS: &str = "all-proxy-models";

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.key.is_none()
    }

    /// The models this caller is limited to (`None` = all).
    pub fn allowed_models(&self) -> Option<&[String]> {
        self.key
            .as_ref()
            .map(|k| k.models.as_slice())
            .filter(|m| !m.is_empty() && !m.iter().any(|x| x == ALL_MODELS))
    }

    /// May this caller use `model`? 403 `key_model_access_denied` if not,
    /// before anything is sent upstream.
    pub fn authorize_model(&self, _runtime: &Runtime, model: &str) -> Result<(), ApiError> {
        match self.allowed_models() {
            Some(allowed) if !allowed.iter().any(|m| m == model) => {
                let mut e = ApiError::new(
                    StatusCode::FORBIDDEN,
                    "key_model_access_denied",
                    format!(
                        "key not allowed to access model. This key can only access models={allowed:?}. Tried to access {model}"
                    ),
                );
                e.body.error.param = Some("model".into());
                Err(e)
            }
            _ => Ok(()),
        }
    }

    /// The key's model alias for `model`, if it has one.
    pub fn alias<'a>(&'a self, model: &'a str) -> &'a str {
        self.key
            .as_ref()
            .and_then(|k| k.aliases.get(model))
            .map_or(model, String::as_str)
    }
}

/// The caller, or the 401 LiteLLM would give.
pub fn authenticate(headers: &HeaderMap, runtime: &Runtime) -> Result<Caller, ApiError> {
    let Some(key) = presented_key(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Authentication Error, No api key passed in. Pass your key as `Authorization: Bearer sk-...`.",
        ));
    };
    let hash = KeyHash::of(key);
    if runtime.is_master_key(&hash) {
        return Ok(Caller {
            key_hash: hash,
            key: None,
        });
    }
    let Some(virtual_key) = runtime.key(&hash) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_not_found_in_db",
            format!(
                "Authentication Error, Invalid proxy server token passed. Received API Key = {}, Key Hash (Token) ={}. Unable to find token in cache or LiteLLM_VerificationTokenTable",
                abbreviate(key),
                hash.to_hex()
            ),
        ));
    };
    if virtual_key.blocked {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Authentication Error, Key is blocked. Update via /key/unblock if you're an admin.",
        ));
    }
    if let Some(expires) = virtual_key.expires_at_ms {
        let now = chrono::Utc::now();
        if now.timestamp_millis() >= expires {
            let expiry = chrono::DateTime::from_timestamp_millis(expires).unwrap_or(now);
            let mut e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "expired_key",
                format!(
                    "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
                    expiry.to_rfc3339(),
                    now.to_rfc3339()
                ),
            );
            e.body.error.param = Some(abbreviate(key));
            return Err(e);
        }
    }
    Ok(Caller {
        key_hash: hash,
        key: Some(Arc::clone(virtual_key)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn every_litellm_header_is_accepted() {
        for name in [
            "authorization",
            "x-api-key",
            "api-key",
            "x-litellm-api-key",
            "x-goog-api-key",
        ] {
            let mut h = HeaderMap::new();
            let value = if name == "authorization" {
                "Bearer sk-1"
            } else {
                "sk-1"
            };
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(presented_key(&h), Some("sk-1"), "{name}");
        }
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("bearer   sk-2 "));
        assert_eq!(presented_key(&h), Some("sk-2"));
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
