//! Names of fleet-wide meters. Data planes name a meter from their snapshot
//! and the control plane parses the name back to find the entity a budget
//! belongs to, so both sides must agree on this one format:
//! `<scope>:<id>:<dimension>`, e.g. `key:<sha256>:rpm`, `team:eng:budget`,
//! `key_model:<sha256>:gpt-4o:tpm`, `global:proxy:budget`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A virtual key, by SHA-256 hex.
    Key(String),
    /// A virtual key's limit on one model (`model_rpm_limit`).
    KeyModel {
        key: String,
        model: String,
    },
    Team(String),
    User(String),
    /// An end user (`/customer/*`).
    Customer(String),
    /// A deployment's own `rpm` / `tpm`.
    Deployment(String),
    /// `litellm_settings.max_budget`: the whole proxy.
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Rpm,
    Tpm,
    Parallel,
    Budget,
}

impl Dimension {
    fn as_str(self) -> &'static str {
        match self {
            Dimension::Rpm => "rpm",
            Dimension::Tpm => "tpm",
            Dimension::Parallel => "parallel",
            Dimension::Budget => "budget",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "rpm" => Dimension::Rpm,
            "tpm" => Dimension::Tpm,
            "parallel" => Dimension::Parallel,
            "budget" => Dimension::Budget,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeterName {
    pub scope: Scope,
    pub dimension: Dimension,
}

impl MeterName {
    pub fn new(scope: Scope, dimension: Dimension) -> Self {
        Self { scope, dimension }
    }

    pub fn parse(name: &str) -> Option<Self> {
        let (kind, rest) = name.split_once(':')?;
        let (id, dim) = rest.rsplit_once(':')?;
        let dimension = Dimension::parse(dim)?;
        let scope = match kind {
            "key" => Scope::Key(id.to_string()),
            "key_model" => {
                let (key, model) = id.split_once(':')?;
                Scope::KeyModel {
                    key: key.to_string(),
                    model: model.to_string(),
                }
            }
            "team" => Scope::Team(id.to_string()),
            "user" => Scope::User(id.to_string()),
            "customer" => Scope::Customer(id.to_string()),
            "deployment" => Scope::Deployment(id.to_string()),
            "global" => Scope::Global,
            _ => return None,
        };
        Some(Self { scope, dimension })
    }

    /// What a client is told when this meter refuses (`api_key: <hash>`,
    /// `team: eng`, …), in LiteLLM's words.
    pub fn entity(&self) -> String {
        match &self.scope {
            Scope::Key(h) => format!("api_key: {h}"),
            Scope::KeyModel { key, model } => format!("api_key: {key} on model: {model}"),
            Scope::Team(t) => format!("team: {t}"),
            Scope::User(u) => format!("user: {u}"),
            Scope::Customer(c) => format!("end_user: {c}"),
            Scope::Deployment(d) => format!("deployment: {d}"),
            Scope::Global => "proxy".to_string(),
        }
    }
}

impl fmt::Display for MeterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dim = self.dimension.as_str();
        match &self.scope {
            Scope::Key(h) => write!(f, "key:{h}:{dim}"),
            Scope::KeyModel { key, model } => write!(f, "key_model:{key}:{model}:{dim}"),
            Scope::Team(t) => write!(f, "team:{t}:{dim}"),
            Scope::User(u) => write!(f, "user:{u}:{dim}"),
            Scope::Customer(c) => write!(f, "customer:{c}:{dim}"),
            Scope::Deployment(d) => write!(f, "deployment:{d}:{dim}"),
            Scope::Global => write!(f, "global:proxy:{dim}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_even_with_colons_in_ids() {
        let cases = [
            MeterName::new(Scope::Key("ab12".into()), Dimension::Rpm),
            MeterName::new(
                Scope::KeyModel {
                    key: "ab12".into(),
                    model: "openai/gpt-4o:2024".into(),
                },
                Dimension::Tpm,
            ),
            MeterName::new(Scope::Team("org:eng".into()), Dimension::Budget),
            MeterName::new(Scope::Customer("u@x".into()), Dimension::Parallel),
            MeterName::new(Scope::Global, Dimension::Budget),
        ];
        for m in cases {
            assert_eq!(MeterName::parse(&m.to_string()), Some(m.clone()), "{m}");
        }
        assert_eq!(MeterName::parse("nope"), None);
        assert_eq!(MeterName::parse("key:x:bogus"), None);
    }
}
