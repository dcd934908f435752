//! Failure injection: which error, delay or broken stream a request gets.
//!
//! Faults are chosen here in provider-neutral terms; each provider module renders
//! a [`Fault`] in its own error format. Three sources exist, in order of
//! precedence: request headers (per-request control), scripted rules queued via
//! `/__mock/faults` (for "fail twice, then succeed" retry tests), and magic model
//! names (for tests that can only choose the model, e.g. through gateway config).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::{SharedState, json_response};

pub const STATUS_HEADER: &str = "x-mock-status";
pub const RETRY_AFTER_HEADER: &str = "x-mock-retry-after";
pub const DELAY_HEADER: &str = "x-mock-delay-ms";
pub const CHUNK_DELAY_HEADER: &str = "x-mock-chunk-delay-ms";
pub const FAIL_AFTER_CHUNKS_HEADER: &str = "x-mock-fail-after-chunks";

const SLOW_MODEL_PREFIX: &str = "mock-slow-";
/// `mock-break-after-N`: a stream that breaks after N data chunks (a model
/// name, for tests that can only choose the model through gateway config).
const BREAK_MODEL_PREFIX: &str = "mock-break-after-";
const DEFAULT_RETRY_AFTER: &str = "1";

/// The kind of error to return; decides the provider's error message and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    RateLimit,
    ServerError,
    ContextLength,
    ContentPolicy,
    /// Any other injected status, rendered with a generic message.
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: StatusCode,
    pub kind: FaultKind,
    /// Value of the `retry-after` response header, when one is to be sent.
    pub retry_after: Option<String>,
}

impl Fault {
    fn from_status(status: StatusCode, retry_after: Option<String>) -> Self {
        match status {
            StatusCode::TOO_MANY_REQUESTS => Self {
                status,
                kind: FaultKind::RateLimit,
                // Real providers always send retry-after with a 429, and gateways key
                // their back-off on it.
                retry_after: Some(retry_after.unwrap_or_else(|| DEFAULT_RETRY_AFTER.to_owned())),
            },
            StatusCode::INTERNAL_SERVER_ERROR => Self {
                status,
                kind: FaultKind::ServerError,
                retry_after,
            },
            _ => Self {
                status,
                kind: FaultKind::Status,
                retry_after,
            },
        }
    }

    fn fixed(kind: FaultKind) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind,
            retry_after: None,
        }
    }
}

/// What to do to one request before answering it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Injection {
    pub fault: Option<Fault>,
    /// Wait before sending the response head (for streams: before the first byte).
    pub delay: Option<Duration>,
}

/// Decides the injection for one request whose body names `model`.
///
/// A scripted rule is consumed only when no header already forces a status, so
/// that a request steered by headers does not silently use up a test's rule.
pub fn decide(headers: &HeaderMap, model: &str, rules: &FaultRules) -> Injection {
    let header_delay = header_u64(headers, DELAY_HEADER).map(Duration::from_millis);
    let header_retry_after = headers
        .get(RETRY_AFTER_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);

    if let Some(status) = header_status(headers) {
        return Injection {
            fault: Some(Fault::from_status(status, header_retry_after)),
            delay: header_delay.or_else(|| model_delay(model)),
        };
    }

    if let Some(rule) = rules.take(model) {
        let fault = StatusCode::from_u16(rule.status)
            .ok()
            .filter(|status| status.is_client_error() || status.is_server_error())
            .map(|status| {
                let retry_after = rule
                    .retry_after
                    .map(|secs| secs.to_string())
                    .or(header_retry_after);
                Fault::from_status(status, retry_after)
            });
        return Injection {
            fault,
            delay: header_delay
                .or(rule.delay_ms.map(Duration::from_millis))
                .or_else(|| model_delay(model)),
        };
    }

    Injection {
        fault: model_fault(model, header_retry_after),
        delay: header_delay.or_else(|| model_delay(model)),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    let value = headers.get(name)?;
    let parsed = value.to_str().ok().and_then(|s| s.trim().parse().ok());
    if parsed.is_none() {
        tracing::warn!(
            header = name,
            ?value,
            "ignoring non-numeric mock control header"
        );
    }
    parsed
}

fn header_status(headers: &HeaderMap) -> Option<StatusCode> {
    let code = header_u64(headers, STATUS_HEADER)?;
    let status = u16::try_from(code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|status| status.is_client_error() || status.is_server_error());
    if status.is_none() {
        tracing::warn!(code, "ignoring {STATUS_HEADER} outside 400..=599");
    }
    status
}

fn model_fault(model: &str, retry_after: Option<String>) -> Option<Fault> {
    match model {
        "mock-429" => Some(Fault::from_status(
            StatusCode::TOO_MANY_REQUESTS,
            retry_after,
        )),
        "mock-500" => Some(Fault::from_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            retry_after,
        )),
        "mock-context-length" => Some(Fault::fixed(FaultKind::ContextLength)),
        "mock-content-policy" => Some(Fault::fixed(FaultKind::ContentPolicy)),
        _ => None,
    }
}

fn model_delay(model: &str) -> Option<Duration> {
    let millis = model.strip_prefix(SLOW_MODEL_PREFIX)?.parse().ok()?;
    Some(Duration::from_millis(millis))
}

/// Faults that only make sense once a stream has started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamFaults {
    /// Wait between consecutive chunks.
    pub chunk_delay: Option<Duration>,
    /// Break the connection after this many data chunks, never sending `[DONE]`.
    pub fail_after_chunks: Option<usize>,
}

impl StreamFaults {
    /// The headers' faults; a `mock-break-after-N` model breaks the stream
    /// when no header says otherwise.
    pub fn for_request(headers: &HeaderMap, model: &str) -> Self {
        let mut faults = Self::from_headers(headers);
        if faults.fail_after_chunks.is_none() {
            faults.fail_after_chunks = model
                .strip_prefix(BREAK_MODEL_PREFIX)
                .and_then(|n| n.parse().ok());
        }
        faults
    }

    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            chunk_delay: header_u64(headers, CHUNK_DELAY_HEADER).map(Duration::from_millis),
            fail_after_chunks: header_u64(headers, FAIL_AFTER_CHUNKS_HEADER)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

/// A scripted fault: the next `times` requests for `model` (or any model, with
/// `"*"`) get `status`. A 2xx status makes a rule that only delays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub model: String,
    #[serde(default = "default_rule_status")]
    pub status: u16,
    /// Remaining uses; the rule is dropped when it reaches zero.
    #[serde(default = "default_rule_times")]
    pub times: u32,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn default_rule_status() -> u16 {
    500
}

fn default_rule_times() -> u32 {
    1
}

impl FaultRule {
    fn validate(&self) -> Result<(), String> {
        if self.model.is_empty() {
            return Err("`model` must be a model name or \"*\"".to_owned());
        }
        if !(200..=599).contains(&self.status) {
            return Err(format!("`status` {} is outside 200..=599", self.status));
        }
        if self.times == 0 {
            return Err("`times` must be at least 1".to_owned());
        }
        Ok(())
    }

    fn matches(&self, model: &str) -> bool {
        self.model == "*" || self.model == model
    }
}

/// The queue of scripted fault rules, matched first-in first-out.
#[derive(Debug, Default)]
pub struct FaultRules {
    // A std mutex is enough: it is never held across an await, and the critical
    // sections are a few comparisons long.
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultRules {
    pub fn push(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Uses up one application of the first rule matching `model`, if any.
    pub fn take(&self, model: &str) -> Option<FaultRule> {
        let mut rules = self.lock();
        let index = rules.iter().position(|rule| rule.matches(model))?;
        let rule = &mut rules[index];
        rule.times -= 1;
        let applied = rule.clone();
        if rule.times == 0 {
            rules.remove(index);
        }
        Some(applied)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        // A panic elsewhere cannot leave the Vec half-updated, so keep serving.
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Serialize)]
struct RuleList {
    faults: Vec<FaultRule>,
}

#[derive(Serialize)]
struct AdminError {
    error: String,
}

/// `POST /__mock/faults`: queue a rule.
pub async fn add_rule(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let rule = match serde_json::from_slice::<FaultRule>(&body) {
        Ok(rule) => rule,
        Err(err) => {
            let error = format!("invalid fault rule: {err}");
            return json_response(StatusCode::BAD_REQUEST, &AdminError { error });
        }
    };
    if let Err(error) = rule.validate() {
        return json_response(StatusCode::BAD_REQUEST, &AdminError { error });
    }
    state.faults.push(rule.clone());
    json_response(StatusCode::CREATED, &rule)
}

/// `GET /__mock/faults`: the rules still queued, with their remaining `times`.
pub async fn list_rules(State(state): State<SharedState>) -> Response {
    let faults = state.faults.list();
    json_response(StatusCode::OK, &RuleList { faults })
}

/// `DELETE /__mock/faults`.
pub async fn clear_rules(State(state): State<SharedState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn rule(model: &str, status: u16, times: u32) -> FaultRule {
        FaultRule {
            model: model.to_owned(),
            status,
            times,
            retry_after: None,
            delay_ms: None,
        }
    }

    #[test]
    fn no_fault_for_ordinary_model() {
        let injection = decide(&HeaderMap::new(), "gpt-4o", &FaultRules::default());
        assert_eq!(injection, Injection::default());
    }

    #[test]
    fn model_names_select_faults() {
        let rules = FaultRules::default();
        let none = HeaderMap::new();
        let fault = |model| decide(&none, model, &rules).fault;

        let rate = fault("mock-429").expect("429 fault");
        assert_eq!(rate.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(rate.kind, FaultKind::RateLimit);
        assert_eq!(rate.retry_after.as_deref(), Some("1"));

        let server = fault("mock-500").expect("500 fault");
        assert_eq!(server.kind, FaultKind::ServerError);
        assert_eq!(server.retry_after, None);

        assert_eq!(
            fault("mock-context-length").map(|f| (f.status, f.kind)),
            Some((StatusCode::BAD_REQUEST, FaultKind::ContextLength))
        );
        assert_eq!(
            fault("mock-content-policy").map(|f| (f.status, f.kind)),
            Some((StatusCode::BAD_REQUEST, FaultKind::ContentPolicy))
        );
    }

    #[test]
    fn retry_after_header_applies_to_rate_limits() {
        let hdrs = headers(&[(RETRY_AFTER_HEADER, "7")]);
        let fault = decide(&hdrs, "mock-429", &FaultRules::default()).fault;
        assert_eq!(fault.and_then(|f| f.retry_after).as_deref(), Some("7"));
    }

    #[test]
    fn status_header_wins_over_model() {
        let hdrs = headers(&[(STATUS_HEADER, "503")]);
        let fault = decide(&hdrs, "mock-429", &FaultRules::default()).fault;
        assert_eq!(
            fault.map(|f| (f.status, f.kind)),
            Some((StatusCode::SERVICE_UNAVAILABLE, FaultKind::Status))
        );

        let hdrs = headers(&[(STATUS_HEADER, "429")]);
        let fault = decide(&hdrs, "gpt-4o", &FaultRules::default()).fault;
        assert_eq!(fault.map(|f| f.kind), Some(FaultKind::RateLimit));
    }

    #[test]
    fn status_header_outside_error_range_is_ignored() {
        for value in ["200", "302", "999", "abc"] {
            let hdrs = headers(&[(STATUS_HEADER, value)]);
            assert_eq!(decide(&hdrs, "gpt-4o", &FaultRules::default()).fault, None);
        }
    }

    #[test]
    fn delays_from_model_and_header() {
        let rules = FaultRules::default();
        let slow = decide(&HeaderMap::new(), "mock-slow-250", &rules);
        assert_eq!(slow.delay, Some(Duration::from_millis(250)));
        assert_eq!(slow.fault, None);

        let hdrs = headers(&[(DELAY_HEADER, "40")]);
        assert_eq!(
            decide(&hdrs, "mock-slow-250", &rules).delay,
            Some(Duration::from_millis(40))
        );
        assert_eq!(decide(&HeaderMap::new(), "mock-slow-x", &rules).delay, None);
    }

    #[test]
    fn rules_match_decrement_and_expire() {
        let rules = FaultRules::default();
        rules.push(rule("gpt-4o", 500, 2));
        let none = HeaderMap::new();

        assert_eq!(decide(&none, "other", &rules).fault, None);
        for _ in 0..2 {
            let fault = decide(&none, "gpt-4o", &rules).fault;
            assert_eq!(
                fault.map(|f| f.status),
                Some(StatusCode::INTERNAL_SERVER_ERROR)
            );
        }
        assert_eq!(decide(&none, "gpt-4o", &rules).fault, None);
        assert!(rules.list().is_empty());
    }

    #[test]
    fn rules_are_first_in_first_out_and_wildcard_matches_any_model() {
        let rules = FaultRules::default();
        rules.push(rule("*", 503, 1));
        rules.push(rule("gpt-4o", 429, 1));
        let none = HeaderMap::new();

        let first = decide(&none, "gpt-4o", &rules).fault;
        assert_eq!(
            first.map(|f| f.status),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        let second = decide(&none, "gpt-4o", &rules).fault;
        assert_eq!(
            second.map(|f| f.status),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(rules.list(), Vec::new());
    }

    #[test]
    fn rule_retry_after_and_delay_are_used() {
        let rules = FaultRules::default();
        rules.push(FaultRule {
            retry_after: Some(3),
            delay_ms: Some(15),
            ..rule("m", 429, 1)
        });
        let injection = decide(&HeaderMap::new(), "m", &rules);
        assert_eq!(injection.delay, Some(Duration::from_millis(15)));
        assert_eq!(
            injection.fault.and_then(|f| f.retry_after).as_deref(),
            Some("3")
        );
    }

    #[test]
    fn success_status_rule_only_delays() {
        let rules = FaultRules::default();
        rules.push(FaultRule {
            delay_ms: Some(5),
            ..rule("m", 200, 1)
        });
        let injection = decide(&HeaderMap::new(), "m", &rules);
        assert_eq!(injection.fault, None);
        assert_eq!(injection.delay, Some(Duration::from_millis(5)));
        assert!(rules.list().is_empty());
    }

    #[test]
    fn status_header_does_not_consume_rules() {
        let rules = FaultRules::default();
        rules.push(rule("m", 500, 1));
        let hdrs = headers(&[(STATUS_HEADER, "502")]);
        let fault = decide(&hdrs, "m", &rules).fault;
        assert_eq!(fault.map(|f| f.status), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(rules.list().len(), 1);
    }

    #[test]
    fn rule_validation() {
        assert!(rule("m", 500, 1).validate().is_ok());
        assert!(rule("", 500, 1).validate().is_err());
        assert!(rule("m", 500, 0).validate().is_err());
        assert!(rule("m", 100, 1).validate().is_err());
        assert!(rule("m", 600, 1).validate().is_err());

        let parsed: FaultRule =
            serde_json::from_str(r#"{"model":"*"}"#).expect("minimal rule parses");
        assert_eq!(parsed, rule("*", 500, 1));
    }

    #[test]
    fn stream_faults_from_headers() {
        let hdrs = headers(&[(CHUNK_DELAY_HEADER, "12"), (FAIL_AFTER_CHUNKS_HEADER, "3")]);
        assert_eq!(
            StreamFaults::from_headers(&hdrs),
            StreamFaults {
                chunk_delay: Some(Duration::from_millis(12)),
                fail_after_chunks: Some(3),
            }
        );
        assert_eq!(
            StreamFaults::from_headers(&HeaderMap::new()),
            StreamFaults::default()
        );
    }

    #[test]
    fn break_after_model_names_break_streams() {
        let none = HeaderMap::new();
        assert_eq!(
            StreamFaults::for_request(&none, "mock-break-after-2").fail_after_chunks,
            Some(2)
        );
        assert_eq!(
            StreamFaults::for_request(&none, "gpt-4o"),
            StreamFaults::default()
        );
        assert_eq!(
            StreamFaults::for_request(&none, "mock-break-after-x").fail_after_chunks,
            None
        );
        let hdrs = headers(&[(FAIL_AFTER_CHUNKS_HEADER, "5")]);
        assert_eq!(
            StreamFaults::for_request(&hdrs, "mock-break-after-2").fail_after_chunks,
            Some(5),
            "the header wins"
        );
    }
}
