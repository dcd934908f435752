//! OpenAI's Responses API (`/v1/responses`) in front of every model group.
//!
//! Deployments that speak it (OpenAI's, Azure's; OpenAI-compatible servers with
//! `model_info.mode: responses`) get the request relayed as sent and their
//! body or event stream relayed back; every other deployment is bridged
//! over the chat contract (`bridge_request` → `ChatCall` → `bridge_response`
//! / `bridge_stream`), as LiteLLM bridges chat-only models. Either way the
//! request goes through the router (`operation.rs`) and is accounted like
//! chat.
//!
//! Stored state lives in the response id (`ids.rs`): a bridged response's
//! id carries its conversation, a native one's its deployment and the
//! provider's id, sealed for the caller's key — so any replica can serve
//! `GET`, `DELETE`, `input_items` and `previous_response_id` without a
//! database or a shared store.

mod bridge_request;
mod bridge_response;
mod bridge_stream;
mod ids;
mod native;
mod operation;
mod routes;
mod sse;

pub use routes::{create, delete, input_items, retrieve};
