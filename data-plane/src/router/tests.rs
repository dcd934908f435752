//! The router end to end in-process: a scripted operation stands in for the
//! providers, so retries, limits, strategies and health run against exact
//! failures without a network.

use super::*;
use crate::providers::embeddings::EmbeddingOutput;
use crate::providers::stream::Usage;
use http::StatusCode;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tollgate_shared::snapshot::Snapshot;

fn runtime(yaml: &str) -> Runtime {
    let loaded = tollgate_shared::config::load(yaml, &BTreeMap::new()).expect("valid config");
    Runtime::build(&Snapshot::from_config(&loaded)).expect("builds")
}

/// Deployments `ids` in group `pool`, each with `params` (YAML flow map
/// entries) and the router settings given.
fn pool(ids: &[(&str, &str)], router_settings: &str) -> Runtime {
    let mut yaml = format!("router_settings: {{{router_settings}}}\nmodel_list:\n");
    for (id, params) in ids {
        yaml.push_str(&format!(
            "  - model_name: pool\n    litellm_params: {{model: openai/{id}, mock_response: hi{params}}}\n    model_info: {{id: {id}}}\n"
        ));
    }
    runtime(&yaml)
}

/// Fails a deployment's next calls with the scripted statuses, then
/// answers with `tokens` tokens; records who was called.
#[derive(Default)]
struct Scripted {
    failures: Mutex<HashMap<String, Vec<u16>>>,
    tokens: u64,
    /// The prompt's size the pre-call context check sees.
    prompt: u64,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    fn failing(self, id: &str, statuses: &[u16]) -> Self {
        self.failures
            .lock()
            .expect("lock")
            .insert(id.to_string(), statuses.iter().rev().copied().collect());
        self
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Operation for Scripted {
    type Output = EmbeddingOutput;

    async fn call(
        &self,
        deployment: &Deployment,
        _timeouts: super::Timeouts,
    ) -> Result<EmbeddingOutput, ProviderError> {
        self.calls.lock().expect("lock").push(deployment.id.clone());
        let next = self
            .failures
            .lock()
            .expect("lock")
            .get_mut(&deployment.id)
            .and_then(Vec::pop);
        match next {
            Some(status) => Err(ProviderError {
                status: StatusCode::from_u16(status).expect("status"),
                message: format!("scripted {status}"),
                kind: "api_error".into(),
                param: None,
                code: Some(status.to_string()),
                retry_after: None,
            }),
            None => Ok(EmbeddingOutput {
                body: bytes::Bytes::from_static(b"{}"),
                usage: Usage {
                    prompt_tokens: self.tokens,
                    completion_tokens: 0,
                    cached_tokens: 0,
                },
            }),
        }
    }

    fn prompt_tokens(&self, _: crate::usage::tokenizer::Encoding) -> u64 {
        self.prompt
    }
}

struct Harness {
    runtime: Runtime,
    cooldowns: Arc<Cooldowns>,
    stats: Arc<Stats>,
}

impl Harness {
    fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            cooldowns: Arc::default(),
            stats: Arc::default(),
        }
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            runtime: &self.runtime,
            cooldowns: &self.cooldowns,
            stats: &self.stats,
            overrides: Overrides::default(),
            limiter: None,
        }
    }

    async fn route(&self, op: &Scripted) -> Result<Routed<EmbeddingOutput>, Failed> {
        let group = self.runtime.group("pool").expect("pool");
        route_call(&self.ctx(), op, group).await
    }
}

#[tokio::test]
async fn retry_policy_sets_retries_per_error_class() {
    let h = Harness::new(pool(
        &[
            ("a", ", order: 1"),
            ("b", ", order: 2"),
            ("c", ", order: 3"),
        ],
        "num_retries: 5, disable_cooldowns: true, retry_policy: {RateLimitErrorRetries: 1, BadRequestErrorRetries: 1}",
    ));
    // 429s: one retry only, despite num_retries: 5.
    let op = Scripted::default()
        .failing("a", &[429])
        .failing("b", &[429]);
    let failed = h.route(&op).await.err().expect("out of retries");
    assert_eq!(failed.error.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (failed.retries, op.calls()),
        (1, vec!["a".into(), "b".into()])
    );
    // A 400 is retried because the policy lists it.
    let op = Scripted::default().failing("a", &[400]);
    let routed = h.route(&op).await.ok().expect("retried");
    assert_eq!((routed.deployment.id.as_str(), routed.retries), ("b", 1));
    // 500s fall back to num_retries.
    let op = Scripted::default()
        .failing("a", &[500])
        .failing("b", &[500]);
    let routed = h.route(&op).await.ok().expect("third deployment");
    assert_eq!((routed.deployment.id.as_str(), routed.retries), ("c", 2));
}

#[tokio::test]
async fn a_request_num_retries_wins_over_the_policy() {
    let h = Harness::new(pool(
        &[("a", ", order: 1"), ("b", ", order: 2")],
        "retry_policy: {InternalServerErrorRetries: 0}",
    ));
    let op = Scripted::default().failing("a", &[500]);
    let mut ctx = h.ctx();
    ctx.overrides.num_retries = Some(1);
    let group = h.runtime.group("pool").expect("pool");
    let routed = route_call(&ctx, &op, group).await.ok().expect("retried");
    assert_eq!(routed.deployment.id, "b");
}

#[tokio::test]
async fn a_deployments_num_retries_replaces_the_routers_and_the_policys() {
    // num_retries: 0 on the deployment: one attempt, despite the router's 5
    // and a policy that would retry 500s three times.
    let h = Harness::new(pool(
        &[("a", ", num_retries: 0, order: 1"), ("b", ", order: 2")],
        "num_retries: 5, disable_cooldowns: true, retry_policy: {InternalServerErrorRetries: 3}",
    ));
    let op = Scripted::default().failing("a", &[500]);
    let failed = h.route(&op).await.err().expect("no retry after a");
    assert_eq!((failed.retries, op.calls()), (0, vec!["a".to_string()]));

    // num_retries: 2 on the only deployment: exactly three attempts, though
    // the router allows none.
    let h = Harness::new(pool(
        &[("a", ", num_retries: 2")],
        "num_retries: 0, retry_after: 0",
    ));
    let op = Scripted::default().failing("a", &[500, 500, 500, 500]);
    let failed = h.route(&op).await.err().expect("out of retries");
    assert_eq!(failed.retries, 2);
    assert_eq!(op.calls(), ["a", "a", "a"]);

    // The count is the failed deployment's: b's 0 ends the retries a's 3
    // allowed.
    let h = Harness::new(pool(
        &[
            ("a", ", num_retries: 3, order: 1"),
            ("b", ", num_retries: 0, order: 2"),
        ],
        "disable_cooldowns: true",
    ));
    let op = Scripted::default()
        .failing("a", &[500])
        .failing("b", &[500]);
    let failed = h.route(&op).await.err().expect("b allows no retry");
    assert_eq!(op.calls(), ["a", "b"]);
    assert_eq!(failed.retries, 1);

    // A request's own num_retries still wins.
    let h = Harness::new(pool(
        &[("a", ", num_retries: 0, order: 1"), ("b", ", order: 2")],
        "disable_cooldowns: true",
    ));
    let op = Scripted::default().failing("a", &[500]);
    let mut ctx = h.ctx();
    ctx.overrides.num_retries = Some(1);
    let group = h.runtime.group("pool").expect("pool");
    let routed = route_call(&ctx, &op, group).await.ok().expect("retried");
    assert_eq!(routed.deployment.id, "b");
}

#[tokio::test]
async fn deployments_at_their_rpm_or_tpm_are_skipped_then_it_is_a_429_naming_them() {
    let h = Harness::new(pool(
        &[("a", ", rpm: 2, order: 1"), ("b", ", tpm: 10, order: 2")],
        "",
    ));
    let op = Scripted {
        tokens: 6,
        ..Scripted::default()
    };
    for _ in 0..4 {
        h.route(&op).await.ok().expect("served");
    }
    // a: 2 requests (its rpm); b: 2 × 6 tokens ≥ its tpm after the second.
    assert_eq!(op.calls(), ["a", "a", "b", "b"]);
    let failed = h.route(&op).await.err().expect("all over their limits");
    assert_eq!(failed.error.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(failed.error.kind, "rate_limit_error");
    assert!(failed.error.message.contains("No deployments available"));
    assert!(failed.error.message.contains("\"a\"") && failed.error.message.contains("\"b\""));
    assert!(failed.error.retry_after.is_some());
    assert_eq!(op.calls().len(), 4, "nothing was called");
}

#[tokio::test]
async fn usage_based_routing_picks_the_fewest_tokens_this_minute() {
    let h = Harness::new(pool(
        &[("a", ""), ("b", "")],
        "routing_strategy: usage-based-routing-v2",
    ));
    h.stats.usage().record("a", 100);
    h.stats.usage().record("b", 40);
    let op = Scripted {
        tokens: 50,
        ..Scripted::default()
    };
    h.route(&op).await.ok().expect("served");
    h.route(&op).await.ok().expect("served");
    // b (40) then b again (90 < 100), then a (100 < 140).
    h.route(&op).await.ok().expect("served");
    assert_eq!(op.calls(), ["b", "b", "a"]);
}

#[tokio::test]
async fn an_unhealthy_deployment_is_avoided_unless_it_is_the_only_one_left() {
    let h = Harness::new(pool(&[("a", ", order: 1"), ("b", ", order: 2")], ""));
    h.cooldowns.set_healthy("a", false);
    let op = Scripted::default();
    assert_eq!(h.route(&op).await.ok().expect("served").deployment.id, "b");
    h.cooldowns.set_healthy("b", false);
    assert_eq!(
        h.route(&op).await.ok().expect("served").deployment.id,
        "a",
        "all unhealthy: the probe may be wrong, the order decides"
    );
}

#[tokio::test]
async fn the_failure_rate_cools_down_a_deployment_whose_errors_do_not_at_once() {
    let h = Harness::new(pool(
        &[("a", ", order: 1"), ("b", ", order: 2")],
        "num_retries: 1",
    ));
    // 403 does not cool down at once; after 3 of 5 requests failed it does.
    let op = Scripted::default().failing("a", &[403, 403]);
    for _ in 0..4 {
        h.route(&op).await.ok().expect("served");
    }
    assert!(!h.cooldowns.is_cooling("a"), "2 failures of 4 requests");
    let op = Scripted::default().failing("a", &[403]);
    h.route(&op).await.ok().expect("served by b");
    assert!(h.cooldowns.is_cooling("a"), "3 failures of 5 requests");
}

/// Group `pool`: `small` (100-token window, tried first) and `large`
/// (1,000); group `huge` has no known window.
fn windows(router_settings: &str) -> Runtime {
    runtime(&format!(
        "router_settings: {{{router_settings}}}\nmodel_list:
  - model_name: pool
    litellm_params: {{model: openai/small, mock_response: hi, order: 1}}
    model_info: {{id: small, max_input_tokens: 100}}
  - model_name: pool
    litellm_params: {{model: openai/large, mock_response: hi, order: 2}}
    model_info: {{id: large, max_input_tokens: 1000}}
  - model_name: huge
    litellm_params: {{model: openai/unknown-size, mock_response: hi}}
    model_info: {{id: huge}}
"
    ))
}

#[tokio::test]
async fn pre_call_checks_skip_deployments_the_prompt_does_not_fit() {
    let h = Harness::new(windows("enable_pre_call_checks: true"));
    let fits_small = Scripted {
        prompt: 100,
        ..Scripted::default()
    };
    assert_eq!(
        h.route(&fits_small)
            .await
            .ok()
            .expect("served")
            .deployment
            .id,
        "small"
    );
    let too_big_for_small = Scripted {
        prompt: 101,
        ..Scripted::default()
    };
    assert_eq!(
        h.route(&too_big_for_small)
            .await
            .ok()
            .expect("served")
            .deployment
            .id,
        "large"
    );
    assert_eq!(
        too_big_for_small.calls(),
        ["large"],
        "small was never called"
    );
    // Fits nowhere: a context-window error before any call.
    let too_big = Scripted {
        prompt: 1001,
        ..Scripted::default()
    };
    let failed = h.route(&too_big).await.err().expect("fits no deployment");
    assert_eq!(failed.error.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        failed.error.code.as_deref(),
        Some("context_length_exceeded")
    );
    assert!(
        failed.error.message.contains("1001 tokens"),
        "{}",
        failed.error.message
    );
    assert!(
        failed.error.message.contains("1000 tokens"),
        "{}",
        failed.error.message
    );
    assert!(too_big.calls().is_empty());
}

#[tokio::test]
async fn without_pre_call_checks_the_provider_is_asked_whatever_the_prompt() {
    let h = Harness::new(windows(""));
    let too_big = Scripted {
        prompt: 5000,
        ..Scripted::default()
    };
    assert_eq!(
        h.route(&too_big).await.ok().expect("served").deployment.id,
        "small"
    );
}

#[tokio::test]
async fn a_prompt_no_deployment_fits_takes_the_context_window_fallback() {
    let h = Harness::new(windows(
        "enable_pre_call_checks: true, context_window_fallbacks: [{pool: [huge]}]",
    ));
    let too_big = Scripted {
        prompt: 50_000,
        ..Scripted::default()
    };
    let routed = h.route(&too_big).await.ok().expect("fallen back");
    assert_eq!(
        (routed.deployment.id.as_str(), routed.fallbacks),
        ("huge", 1)
    );
    assert_eq!(too_big.calls(), ["huge"]);
}
