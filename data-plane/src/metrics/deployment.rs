//! Handles for one deployment: its provider attempts (`gen_ai.client.*`,
//! LiteLLM's `litellm_deployment_*`, `litellm_llm_api_*`) and the requests
//! its model group answered (`litellm_requests_metric`, tokens, spend,
//! latency), under both Tollgate's and LiteLLM's names.

use metrics::{Counter, Gauge, Histogram, Label};
use std::time::Duration;
use tollgate_proto::v1::{RequestStatus, UsageRecord};

/// What the config allows beyond the bounded labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelOptions {
    /// `general_settings.metrics_team_label`.
    pub team: bool,
    /// `general_settings.metrics_key_label`.
    pub key_alias: bool,
}

pub struct DeploymentMetrics {
    labels: Vec<Label>,
    group: String,
    options: LabelOptions,
    // One provider attempt.
    attempts: Counter,
    attempt_successes: Counter,
    attempt_duration: Histogram,
    litellm_api_latency: Histogram,
    time_to_first_chunk: Histogram,
    litellm_ttft: Histogram,
    state: Gauge,
    // One request its group answered.
    requests_ok: Counter,
    litellm_requests: Counter,
    proxy_requests_ok: Counter,
    request_latency: Histogram,
    gen_ai_server_duration: Histogram,
    overhead: Histogram,
    input_tokens: Counter,
    output_tokens: Counter,
    cached_tokens: Counter,
    litellm_total_tokens: Counter,
    litellm_input_tokens: Counter,
    litellm_output_tokens: Counter,
    token_usage_input: Histogram,
    token_usage_output: Histogram,
    spend_picos: Counter,
    litellm_spend: Gauge,
    retries: Counter,
    fallbacks: Counter,
}

fn l(k: &'static str, v: &str) -> Label {
    Label::new(k, v.to_string())
}

impl DeploymentMetrics {
    pub fn new(
        group: &str,
        deployment_id: &str,
        provider: &str,
        upstream_model: &str,
        api_base: &str,
        options: LabelOptions,
    ) -> Self {
        let gen_ai_provider = tollgate_telemetry::semconv::provider_name(provider);
        // LiteLLM's per-deployment label names.
        let deployment = vec![
            l("litellm_model_name", upstream_model),
            l("model_id", deployment_id),
            l("api_base", api_base),
            l("api_provider", provider),
            l("requested_model", group),
        ];
        let client = vec![
            l("gen_ai_operation_name", "chat"),
            l("gen_ai_provider_name", gen_ai_provider),
            l("gen_ai_request_model", upstream_model),
            l("tollgate_model_group", group),
            l("tollgate_deployment", deployment_id),
        ];
        let by_group = vec![
            l("tollgate_model_group", group),
            l("tollgate_deployment", deployment_id),
            l("gen_ai_provider_name", gen_ai_provider),
        ];
        let litellm_model = vec![
            l("model", upstream_model),
            l("requested_model", group),
            l("model_id", deployment_id),
        ];
        let with = |base: &[Label], extra: &[(&'static str, &str)]| {
            let mut v = base.to_vec();
            v.extend(extra.iter().map(|(k, val)| l(k, val)));
            v
        };
        Self {
            group: group.to_string(),
            options,
            attempts: metrics::counter!(
                "litellm_deployment_total_requests_total",
                deployment.clone()
            ),
            attempt_successes: metrics::counter!(
                "litellm_deployment_success_responses_total",
                deployment.clone()
            ),
            attempt_duration: metrics::histogram!(
                "gen_ai_client_operation_duration_seconds",
                client.clone()
            ),
            litellm_api_latency: metrics::histogram!(
                "litellm_llm_api_latency_metric",
                litellm_model.clone()
            ),
            time_to_first_chunk: metrics::histogram!(
                "gen_ai_client_operation_time_to_first_chunk_seconds",
                client.clone()
            ),
            litellm_ttft: metrics::histogram!(
                "litellm_llm_api_time_to_first_token_metric",
                litellm_model.clone()
            ),
            state: metrics::gauge!("litellm_deployment_state", deployment.clone()),
            requests_ok: metrics::counter!(
                "tollgate_requests_total",
                with(&by_group, &[("status_class", "2xx")])
            ),
            litellm_requests: metrics::counter!(
                "litellm_requests_metric_total",
                litellm_model.clone()
            ),
            proxy_requests_ok: metrics::counter!(
                "litellm_proxy_total_requests_metric_total",
                vec![l("requested_model", group), l("status_code", "200")]
            ),
            request_latency: metrics::histogram!(
                "litellm_request_total_latency_metric",
                litellm_model.clone()
            ),
            gen_ai_server_duration: metrics::histogram!(
                "gen_ai_server_request_duration_seconds",
                vec![
                    l("gen_ai_operation_name", "chat"),
                    l("tollgate_model_group", group)
                ]
            ),
            overhead: metrics::histogram!(
                "tollgate_overhead_seconds",
                vec![l("tollgate_model_group", group)]
            ),
            input_tokens: metrics::counter!(
                "tollgate_tokens_total",
                with(&by_group, &[("gen_ai_token_type", "input")])
            ),
            output_tokens: metrics::counter!(
                "tollgate_tokens_total",
                with(&by_group, &[("gen_ai_token_type", "output")])
            ),
            cached_tokens: metrics::counter!(
                "tollgate_tokens_total",
                with(&by_group, &[("gen_ai_token_type", "cache_read")])
            ),
            litellm_total_tokens: metrics::counter!(
                "litellm_total_tokens_metric_total",
                litellm_model.clone()
            ),
            litellm_input_tokens: metrics::counter!(
                "litellm_input_tokens_metric_total",
                litellm_model.clone()
            ),
            litellm_output_tokens: metrics::counter!(
                "litellm_output_tokens_metric_total",
                litellm_model.clone()
            ),
            token_usage_input: metrics::histogram!(
                "gen_ai_client_token_usage",
                with(&client, &[("gen_ai_token_type", "input")])
            ),
            token_usage_output: metrics::histogram!(
                "gen_ai_client_token_usage",
                with(&client, &[("gen_ai_token_type", "output")])
            ),
            spend_picos: metrics::counter!("tollgate_spend_picodollars_total", by_group.clone()),
            litellm_spend: metrics::gauge!("litellm_spend_metric_total", litellm_model.clone()),
            retries: metrics::counter!(
                "tollgate_retries_total",
                vec![l("tollgate_model_group", group)]
            ),
            fallbacks: metrics::counter!(
                "tollgate_fallbacks_total",
                vec![l("tollgate_model_group", group)]
            ),
            labels: deployment,
        }
    }

    /// One provider attempt ended: `ttfc` is set for streams.
    pub fn attempt(&self, elapsed: Duration, ttfc: Option<Duration>, failed_status: Option<u16>) {
        self.attempts.increment(1);
        self.attempt_duration.record(elapsed.as_secs_f64());
        match failed_status {
            None => {
                self.attempt_successes.increment(1);
                self.litellm_api_latency.record(elapsed.as_secs_f64());
                if let Some(t) = ttfc {
                    self.time_to_first_chunk.record(t.as_secs_f64());
                    self.litellm_ttft.record(t.as_secs_f64());
                }
                self.state.set(0.0);
            }
            Some(status) => {
                // Failures are off the fast path: their status is a label.
                let mut labels = self.labels.clone();
                labels.push(Label::new("exception_status", status.to_string()));
                metrics::counter!("litellm_deployment_failure_responses_total", labels)
                    .increment(1);
            }
        }
    }

    /// The deployment was set aside (LiteLLM: state 2, complete outage).
    pub fn cooled_down(&self, status: u16) {
        self.state.set(2.0);
        let mut labels = self.labels.clone();
        labels.push(Label::new("exception_status", status.to_string()));
        metrics::counter!("litellm_deployment_cooled_down_total", labels).increment(1);
    }

    /// A request this deployment's group answered (or the last deployment
    /// tried, for a failure), from its usage record.
    pub fn request(&self, record: &UsageRecord, elapsed: Duration) {
        let ok = record.status == RequestStatus::Success as i32;
        let secs = elapsed.as_secs_f64();
        self.gen_ai_server_duration.record(secs);
        self.overhead.record(record.overhead_us as f64 / 1e6);
        self.retries.increment(u64::from(record.retries));
        self.fallbacks.increment(u64::from(record.fallbacks));
        if ok {
            self.requests_ok.increment(1);
            self.proxy_requests_ok.increment(1);
            self.request_latency.record(secs);
        } else {
            let class = match record.http_status {
                400..=499 => "4xx",
                _ => "5xx",
            };
            metrics::counter!("tollgate_requests_total", "tollgate_model_group" => self.group.clone(), "tollgate_deployment" => self.labels[1].value().to_string(), "gen_ai_provider_name" => tollgate_telemetry::semconv::provider_name(self.labels[3].value()).to_string(), "status_class" => class).increment(1);
            metrics::counter!("litellm_proxy_total_requests_metric_total", "requested_model" => self.group.clone(), "status_code" => record.http_status.to_string()).increment(1);
            metrics::counter!("litellm_proxy_failed_requests_metric_total", "requested_model" => self.group.clone(), "exception_status" => record.http_status.to_string()).increment(1);
        }
        if self.options.team || self.options.key_alias {
            // Opted in: one series per team / key alias (unbounded).
            let mut labels = vec![Label::new("requested_model", self.group.clone())];
            if self.options.team {
                labels.push(Label::new("team", record.team_id.clone()));
            }
            if self.options.key_alias {
                labels.push(Label::new("api_key_alias", record.key_alias.clone()));
            }
            metrics::counter!("litellm_requests_by_caller_metric_total", labels).increment(1);
        } else {
            self.litellm_requests.increment(1);
        }
        let (input, output) = (record.prompt_tokens, record.completion_tokens);
        if input + output > 0 {
            self.input_tokens.increment(input);
            self.output_tokens.increment(output);
            self.cached_tokens.increment(record.cached_tokens);
            self.litellm_total_tokens.increment(input + output);
            self.litellm_input_tokens.increment(input);
            self.litellm_output_tokens.increment(output);
            self.token_usage_input.record(input as f64);
            self.token_usage_output.record(output as f64);
        }
        if record.cost_picos > 0 {
            self.spend_picos.increment(record.cost_picos);
            self.litellm_spend
                .increment(record.cost_picos as f64 / 1e12);
        }
    }
}
