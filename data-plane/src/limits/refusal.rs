//! The 429 a client sees when a fleet-wide limit refuses its request, in
//! LiteLLM's words (its clients match on them) and OpenAI's error shape.

use crate::http::error::ApiError;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use std::time::Instant;
use tollgate_shared::meters::{Dimension, MeterName, Scope};
use tollgate_shared::pricing::to_usd;

#[derive(Debug)]
pub struct Refusal {
    pub meter: MeterName,
    pub limit: u64,
    pub used: u64,
    pub spend: u64,
    pub resets_at: Option<Instant>,
}

impl Refusal {
    fn retry_after_secs(&self) -> u64 {
        self.resets_at
            .map(|at| at.saturating_duration_since(Instant::now()).as_secs() + 1)
            .unwrap_or(1)
    }

    /// `budget_status`: the configured status of a budget refusal.
    pub fn into_api_error(self, budget_status: StatusCode) -> ApiError {
        let retry = self.retry_after_secs();
        let mut error = match self.meter.dimension {
            Dimension::Budget => {
                let who = match &self.meter.scope {
                    Scope::Key(h) => format!("Key={h}"),
                    Scope::Team(t) => format!("Team={t}"),
                    Scope::User(u) => format!("User={u}"),
                    Scope::Customer(c) => format!("End User={c}"),
                    Scope::Global => "Proxy".to_string(),
                    other => format!("{other:?}"),
                };
                // Spend alone can be below the budget when requests still
                // running hold the rest of it (LiteLLM's rule counts them).
                let reserved = self.used.saturating_sub(self.spend);
                let in_flight = if reserved > 0 && self.spend < self.limit {
                    format!(
                        " Requests in flight have reserved {} of it.",
                        to_usd(reserved)
                    )
                } else {
                    String::new()
                };
                ApiError::new(
                    budget_status,
                    "budget_exceeded",
                    format!(
                        "Budget has been exceeded! {who} Current cost: {}, Max budget: {}.{in_flight} Raise max_budget (e.g. /key/update) or wait for the budget to reset{}.",
                        to_usd(self.spend),
                        to_usd(self.limit),
                        if self.resets_at.is_some() {
                            format!(" in {retry}s")
                        } else {
                            String::new()
                        }
                    ),
                )
            }
            dimension => {
                let limit_type = match dimension {
                    Dimension::Rpm => "requests",
                    Dimension::Tpm => "tokens",
                    _ => "max_parallel_requests",
                };
                let reset = if dimension == Dimension::Parallel {
                    "when a request in flight finishes".to_string()
                } else {
                    format!("in {retry}s")
                };
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    format!(
                        "Rate limit exceeded for {}. Limit type: {limit_type}. Current limit: {}, Remaining: 0. Limit resets {reset}. The limit holds across all Tollgate data planes.",
                        self.meter.entity(),
                        self.limit,
                    ),
                )
            }
        };
        error.retry_after = HeaderValue::from_str(&retry.to_string()).ok();
        let names = match self.meter.dimension {
            Dimension::Rpm => Some((
                "requests",
                "x-ratelimit-limit-requests",
                "x-ratelimit-remaining-requests",
                "x-ratelimit-reset-requests",
            )),
            Dimension::Tpm => Some((
                "tokens",
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-tokens",
            )),
            Dimension::Parallel => Some(("max_parallel_requests", "", "", "")),
            Dimension::Budget => None,
        };
        if let Some((kind, limit, remaining, reset)) = names {
            // LiteLLM's v3 limiter names the limit that refused.
            error.headers.push((
                HeaderName::from_static("rate_limit_type"),
                HeaderValue::from_static(kind),
            ));
            if !limit.is_empty() {
                for (name, value) in [
                    (limit, self.limit.to_string()),
                    (remaining, "0".to_string()),
                    (reset, format!("{retry}s")),
                ] {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        error.headers.push((HeaderName::from_static(name), value));
                    }
                }
            }
        }
        error
    }
}
