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

/// Every `os.environ/NAME` inside `value` replaced by the variable's value
/// (LiteLLM's header values such as `Bearer os.environ/COHERE_API_KEY`); a
/// variable that is not set is left as written.
pub(crate) fn resolve_embedded(value: &str, env: &dyn EnvLookup) -> Option<String> {
    if !value.contains(PREFIX) {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at]);
        let after = &rest[at + PREFIX.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        match env.get(&after[..end]) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[at..at + PREFIX.len() + end]),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl EnvLookup for Env {
        fn get(&self, name: &str) -> Option<String> {
            (name == "KEY").then(|| "sk-1".to_string())
        }
    }

    #[test]
    fn references_inside_values_are_resolved() {
        assert_eq!(
            resolve_embedded("Bearer os.environ/KEY", &Env).as_deref(),
            Some("Bearer sk-1")
        );
        assert_eq!(
            resolve_embedded("a os.environ/KEY,os.environ/NOPE b", &Env).as_deref(),
            Some("a sk-1,os.environ/NOPE b")
        );
        assert_eq!(resolve_embedded("plain", &Env), None);
    }
}
