//! `os.environ/NAME` references, resolved when the file is loaded.

use std::collections::BTreeMap;

const PREFIX: &str = "os.environ/";

/// Where `os.environ/NAME` is looked up; a trait so tests need no process env.
pub trait EnvLookup {
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvLookup for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

/// Environment seen through the config's own `environment_variables` first.
pub(crate) struct Layered<'a> {
    pub(crate) overrides: &'a BTreeMap<String, String>,
    pub(crate) base: &'a dyn EnvLookup,
}

impl EnvLookup for Layered<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| self.base.get(name))
    }
}

pub(crate) enum Resolved {
    /// Not a reference: left as it was.
    Literal,
    Value(String),
    Missing(String),
}

pub(crate) fn resolve(value: &str, env: &dyn EnvLookup) -> Resolved {
    match value.strip_prefix(PREFIX) {
        None => Resolved::Literal,
        Some(name) => match env.get(name) {
            Some(v) => Resolved::Value(v),
            None => Resolved::Missing(name.to_string()),
        },
    }
}
