//! LiteLLM's per-request usage headers: how long the request took, how
//! much of that was the gateway's own, and what it cost.

use super::endpoint::set_header;
use axum::response::Response;
use std::time::{Duration, Instant};
use tollgate_shared::pricing::Picodollars;

/// LiteLLM's `x-litellm-response-duration-ms` (to the response head: for a
/// stream, its first chunk) and `x-litellm-overhead-duration-ms` (that
/// minus the time spent waiting on providers, retries included).
pub struct Timing {
    pub total: Duration,
    pub overhead: Duration,
}

impl Timing {
    pub fn new(started: Instant, upstream: Duration) -> Timing {
        let total = started.elapsed();
        Timing {
            total,
            overhead: total.saturating_sub(upstream),
        }
    }

    pub fn set_headers(&self, response: &mut Response) {
        let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        set_header(response, "x-litellm-response-duration-ms", &ms(self.total));
        set_header(
            response,
            "x-litellm-overhead-duration-ms",
            &ms(self.overhead),
        );
    }
}

/// `x-litellm-response-cost`: USD as a plain decimal, as LiteLLM sends it.
pub fn set_response_cost(response: &mut Response, cost: Picodollars) {
    set_header(
        response,
        "x-litellm-response-cost",
        &tollgate_shared::pricing::to_usd(cost).to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_is_total_minus_upstream_and_never_negative() {
        let started = Instant::now();
        let t = Timing::new(started, Duration::ZERO);
        assert!(t.overhead == t.total);
        let t = Timing::new(started, Duration::from_secs(3600));
        assert_eq!(t.overhead, Duration::ZERO);
        let mut response = Response::new(axum::body::Body::empty());
        t.set_headers(&mut response);
        let total: f64 = response.headers()["x-litellm-response-duration-ms"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number");
        assert!(total >= 0.0);
        assert_eq!(
            response.headers()["x-litellm-overhead-duration-ms"],
            "0.000"
        );
    }
}
