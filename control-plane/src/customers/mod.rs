//! End users (LiteLLM's `/customer/*`), named by a request's `user` field or
//! `x-litellm-end-user-id`: a blocked customer is refused on every data plane.

mod convert;
mod service;

pub use convert::customer_to_snapshot;
pub use service::CustomerService;
