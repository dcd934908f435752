//! Virtual keys: validation and storage of LiteLLM's key operations. Every
//! change republishes the snapshot before the call returns, so revocation
//! reaches data planes in one push instead of LiteLLM's 60 s cache TTL.

mod convert;
mod error;
mod service;

pub use convert::{key_to_proto, key_to_snapshot};
pub use error::KeyError;
pub use service::KeyService;
