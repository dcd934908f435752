//! What both Tollgate planes share.
//!
//! - [`config`]: LiteLLM's `litellm_config.yaml`, parsed as LiteLLM parses it.
//! - [`snapshot`]: the versioned state a control plane pushes to data planes.
//! - [`error`]: OpenAI's error envelope, the only error shape clients see.
//! - [`keys`]: how keys are hashed; plaintext keys are never stored or sent.
//! - [`secret`]: a string that never shows in logs.
//! - [`read_body`]: the layer that reads every request body before answering.

pub mod config;
pub mod duration;
pub mod error;
pub mod keys;
pub mod meters;
pub mod pricing;
pub mod provider;
pub mod read_body;
pub mod secret;
pub mod shutdown;
pub mod snapshot;
pub mod tls;
