//! LiteLLM's per-request settings that have behaviour here: their types.
//! They are never forwarded, so a wrong one would otherwise be ignored in
//! silence; a client that asked for a 0.5 s limit and got none deserves
//! to hear why.

use super::{Invalid, optional};
use crate::router::positive_seconds;
use serde_json::{Map, Value};

pub fn check(body: &Map<String, Value>) -> Result<(), Invalid> {
    for key in ["timeout", "request_timeout", "stream_timeout"] {
        if let Some(value) = optional(body, key)
            && positive_seconds(value).is_none()
        {
            return Err(Invalid::new(key, "a positive number of seconds", value));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_json(value: Value) -> Result<(), Invalid> {
        check(value.as_object().expect("object"))
    }

    #[test]
    fn positive_seconds_pass_and_null_means_unset() {
        assert!(check_json(json!({"timeout": 0.5, "stream_timeout": 3})).is_ok());
        assert!(check_json(json!({"timeout": null})).is_ok());
    }

    #[test]
    fn anything_else_names_the_field() {
        for (key, value) in [
            ("timeout", json!(0)),
            ("timeout", json!("10")),
            ("request_timeout", json!(-2)),
            ("stream_timeout", json!({"connect": 1})),
        ] {
            let invalid = check_json(json!({ key: value })).expect_err("refused");
            assert_eq!(invalid.param, key);
        }
    }
}
