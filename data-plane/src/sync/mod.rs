//! Staying in sync with the control plane: the config stream, the on-disk
//! copy of the last snapshot, and the connection plumbing both streams use.

mod apply;
mod backoff;
mod client;
pub mod connect;
mod disk;
mod restore;

pub use apply::{ApplyError, apply_snapshot};
pub use backoff::Backoff;
pub use client::{SyncOptions, run};
pub use restore::restore;
