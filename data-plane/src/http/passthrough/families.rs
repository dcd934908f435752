//! The provider pass-through routes (`/openai/*`, `/anthropic/*`, …): which
//! deployments each one takes its credential from, where it sends, how it
//! authenticates, and the environment LiteLLM falls back to when no
//! deployment of the provider is configured.

use crate::providers::ProviderError;
use crate::runtime::Deployment;
use http::{HeaderName, HeaderValue, StatusCode};
use tollgate_shared::provider::ProviderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key in this header (`x-api-key`, `api-key`, `x-goog-api-key`).
    Header(&'static str),
    /// AWS SigV4 with the deployment's credentials.
    SigV4,
}

#[derive(Debug)]
pub struct Family {
    /// The route prefix and the provider's name in spend logs.
    pub name: &'static str,
    /// Deployments of these providers lend their credential.
    pub kinds: &'static [ProviderKind],
    pub auth: Auth,
    /// LiteLLM's environment fallback: key, then base URL.
    pub env_key: &'static str,
    pub env_base: &'static str,
    pub default_base: Option<&'static str>,
}

pub const FAMILIES: [Family; 7] = [
    Family {
        name: "openai",
        kinds: &[ProviderKind::Openai],
        auth: Auth::Bearer,
        env_key: "OPENAI_API_KEY",
        env_base: "OPENAI_API_BASE",
        default_base: Some("https://api.openai.com/v1"),
    },
    Family {
        name: "anthropic",
        kinds: &[ProviderKind::Anthropic],
        auth: Auth::Header("x-api-key"),
        env_key: "ANTHROPIC_API_KEY",
        env_base: "ANTHROPIC_API_BASE",
        default_base: Some("https://api.anthropic.com"),
    },
    Family {
        name: "gemini",
        kinds: &[ProviderKind::Gemini],
        auth: Auth::Header("x-goog-api-key"),
        env_key: "GEMINI_API_KEY",
        env_base: "GEMINI_API_BASE",
        default_base: Some("https://generativelanguage.googleapis.com"),
    },
    Family {
        name: "azure",
        kinds: &[ProviderKind::Azure],
        auth: Auth::Header("api-key"),
        env_key: "AZURE_API_KEY",
        env_base: "AZURE_API_BASE",
        default_base: None,
    },
    Family {
        name: "bedrock",
        kinds: &[ProviderKind::Bedrock],
        auth: Auth::SigV4,
        env_key: "",
        env_base: "",
        default_base: None,
    },
    Family {
        name: "mistral",
        kinds: &[ProviderKind::Mistral],
        auth: Auth::Bearer,
        env_key: "MISTRAL_API_KEY",
        env_base: "MISTRAL_API_BASE",
        default_base: Some("https://api.mistral.ai/v1"),
    },
    Family {
        name: "cohere",
        // A `cohere/` (rerank) deployment lends its key; else the
        // environment's, as LiteLLM.
        kinds: &[ProviderKind::Cohere],
        auth: Auth::Bearer,
        env_key: "COHERE_API_KEY",
        env_base: "COHERE_API_BASE",
        default_base: Some("https://api.cohere.com"),
    },
];

impl Family {
    /// OpenAI's wire format (chat completions, their streams).
    pub fn speaks_openai(&self) -> bool {
        matches!(self.name, "openai" | "azure" | "mistral")
    }

    /// A deployment of this provider that calls it (a `mock_response`
    /// deployment answers in-process: it has no credential to lend).
    pub fn serves(&self, deployment: &Deployment) -> bool {
        self.kinds.contains(&deployment.config.provider)
            && deployment.config.params.mock_response.is_none()
    }
}

/// Where a pass-through goes and the headers that authenticate it (none
/// for SigV4, which signs each request).
pub struct Credential {
    pub base: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Scrubbed from anything relayed back.
    pub secret: Option<String>,
}

fn no_credential(family: &Family) -> ProviderError {
    ProviderError {
        status: StatusCode::UNAUTHORIZED,
        message: format!(
            "{}: no credential for the pass-through: configure a `{}/` deployment{}",
            family.name,
            family.name,
            if family.env_key.is_empty() {
                String::new()
            } else {
                format!(" or set {} for the data plane", family.env_key)
            }
        ),
        kind: "authentication_error".into(),
        param: None,
        code: Some("401".into()),
        retry_after: None,
    }
}

fn auth_headers(
    family: &Family,
    key: Option<&str>,
) -> Result<Vec<(HeaderName, HeaderValue)>, ProviderError> {
    let Some(key) = key else {
        return Ok(Vec::new());
    };
    let (name, value) = match family.auth {
        Auth::Bearer => (http::header::AUTHORIZATION, format!("Bearer {key}")),
        Auth::Header(name) => (HeaderName::from_static(name), key.to_string()),
        Auth::SigV4 => return Ok(Vec::new()),
    };
    let mut value =
        HeaderValue::try_from(value).map_err(|e| ProviderError::internal(family.name, &e))?;
    value.set_sensitive(true);
    Ok(vec![(name, value)])
}

/// The base URL without a trailing `/v1/messages` (Anthropic deployments
/// may name the full endpoint) or slash.
fn base_of(base: &str) -> String {
    let base = base.trim_end_matches('/');
    base.strip_suffix("/v1/messages")
        .unwrap_or(base)
        .to_string()
}

/// The deployment's credential for this family.
pub fn of_deployment(
    family: &Family,
    deployment: &Deployment,
) -> Result<Credential, ProviderError> {
    if family.auth == Auth::SigV4 {
        let bedrock = deployment
            .upstream
            .bedrock()
            .ok_or_else(|| no_credential(family))?;
        return Ok(Credential {
            base: bedrock.endpoint().to_string(),
            headers: Vec::new(),
            secret: None,
        });
    }
    let config = &deployment.config;
    let key = crate::providers::api_key(config, Some(family.env_key).filter(|e| !e.is_empty()));
    let base = config
        .params
        .api_base
        .clone()
        .or_else(|| {
            std::env::var(family.env_base)
                .ok()
                .filter(|b| !b.is_empty())
        })
        .or_else(|| family.default_base.map(str::to_string))
        .ok_or_else(|| no_credential(family))?;
    Ok(Credential {
        base: base_of(&base),
        headers: auth_headers(family, key.as_deref())?,
        secret: key,
    })
}

/// LiteLLM's fallback when no deployment of the provider exists: the
/// provider's key (and base) from the data plane's environment.
pub fn of_environment(family: &Family) -> Result<Credential, ProviderError> {
    let env = |name: &str| {
        (!name.is_empty())
            .then(|| std::env::var(name).ok())
            .flatten()
            .filter(|v| !v.is_empty())
    };
    let key = env(family.env_key).ok_or_else(|| no_credential(family))?;
    let base = env(family.env_base)
        .or_else(|| family.default_base.map(str::to_string))
        .ok_or_else(|| no_credential(family))?;
    Ok(Credential {
        base: base_of(&base),
        headers: auth_headers(family, Some(&key))?,
        secret: Some(key),
    })
}

/// `base` + the client's path under the route: a base ending in `/v1`
/// and a path starting with `v1/` share it (`/openai/v1/chat/completions`
/// and `/openai/chat/completions` both reach `…/v1/chat/completions`).
pub fn join(base: &str, path: &str, query: Option<&str>) -> String {
    let path = path.trim_start_matches('/');
    let path = match (base.ends_with("/v1"), path.strip_prefix("v1/")) {
        (true, Some(rest)) => rest,
        _ => path,
    };
    let mut url = if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{path}")
    };
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The model a native request names in its path (Gemini's
/// `models/{model}:generateContent`, Azure's `deployments/{name}/…`,
/// Bedrock's `model/{id}/converse`).
pub fn model_in_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let next = segments.get(i + 1).copied();
        match (*segment, next) {
            ("models" | "deployments" | "model", Some(name)) if !name.is_empty() => {
                let name = name.split(':').next().unwrap_or(name);
                return Some(percent_decode(name));
            }
            _ => {}
        }
    }
    None
}

/// `path` with the model it names (as [`model_in_path`] reads it) replaced
/// by `model`, percent-encoded as a client would: the deployment that
/// serves a call (the group's, or a fallback's) gets its own model, not the
/// one the client named. `None` when the path names no model.
pub fn with_model_in_path(path: &str, model: &str) -> Option<String> {
    let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
    let at = segments.iter().enumerate().position(|(i, segment)| {
        matches!(segment.as_str(), "models" | "deployments" | "model")
            && path.split('/').nth(i + 1).is_some_and(|n| !n.is_empty())
    })? + 1;
    let named = &segments[at];
    // Gemini's `models/{model}:generateContent`: the method stays.
    let method = named.find(':').map(|i| named[i..].to_string());
    let encoded = percent_encode(model);
    segments[at] = match method {
        Some(method) if !named.starts_with(':') => format!("{encoded}{method}"),
        _ => encoded,
    };
    Some(segments.join("/"))
}

/// What a path segment cannot hold as is (Bedrock's model ids have `:`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_bases_once() {
        assert_eq!(
            join("http://m/v1", "v1/chat/completions", None),
            "http://m/v1/chat/completions"
        );
        assert_eq!(
            join("http://m/v1", "chat/completions", Some("a=1")),
            "http://m/v1/chat/completions?a=1"
        );
        assert_eq!(
            join("http://m", "v1/messages", None),
            "http://m/v1/messages"
        );
        assert_eq!(base_of("http://m/v1/messages/"), "http://m");
        assert_eq!(
            join("https://api.cohere.com/v1/rerank", "", None),
            "https://api.cohere.com/v1/rerank"
        );
    }

    #[test]
    fn models_are_read_from_native_paths() {
        assert_eq!(
            model_in_path("v1beta/models/gemini-2.0-flash:generateContent").as_deref(),
            Some("gemini-2.0-flash")
        );
        assert_eq!(
            model_in_path("openai/deployments/gpt-4o/chat/completions").as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(
            model_in_path("model/anthropic.claude-3%3A0/converse").as_deref(),
            Some("anthropic.claude-3:0")
        );
        assert_eq!(model_in_path("v1/messages"), None);
    }

    #[test]
    fn the_serving_deployment_gets_its_own_model_in_the_path() {
        assert_eq!(
            with_model_in_path(
                "model/mock-429/invoke-with-response-stream",
                "anthropic.claude-3-haiku-20240307-v1:0"
            )
            .as_deref(),
            Some("model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream")
        );
        assert_eq!(
            with_model_in_path(
                "v1beta/models/flash:streamGenerateContent",
                "gemini-2.0-flash"
            )
            .as_deref(),
            Some("v1beta/models/gemini-2.0-flash:streamGenerateContent")
        );
        assert_eq!(
            with_model_in_path("openai/deployments/gpt/chat/completions", "gpt-4o").as_deref(),
            Some("openai/deployments/gpt-4o/chat/completions")
        );
        assert_eq!(with_model_in_path("v1/messages", "x"), None);
        // What is written is read back as the model.
        let path = with_model_in_path("model/a/converse", "us.anthropic.claude:0/x y")
            .expect("names a model");
        assert_eq!(
            model_in_path(&path).as_deref(),
            Some("us.anthropic.claude:0/x y")
        );
    }
}
