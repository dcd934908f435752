//! The model routes that are not chat: `/v1/images/generations`,
//! `/v1/audio/speech`, `/v1/audio/transcriptions` (a multipart upload),
//! `/v1/moderations` and `/v1/rerank` (`/rerank`, `/v2/rerank`: Cohere's
//! shape). Each is admitted like chat (key, model access, fleet-wide limits
//! and budgets), routed with the router's retries and fallbacks, relayed to
//! OpenAI-format, Azure, Cohere or Jina deployments
//! (`providers/relay.rs`), and priced by LiteLLM's per-unit fields
//! (`unit_price.rs`) on top of any tokens the answer reports.

mod multipart;
mod operation;
mod routes;
mod unit_price;

pub use routes::{images, moderations, rerank, speech, transcriptions};

/// A deployment's `input_cost_per_query` (rerank), for the pass-through
/// routes, which charge the queries a provider's answer reports.
pub fn query_price(
    deployment: &crate::runtime::Deployment,
) -> Option<tollgate_shared::pricing::Picodollars> {
    unit_price::per_unit(deployment, unit_price::Unit::Query)
}
