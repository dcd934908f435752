//! Fleet-wide limits on the data plane: rpm, tpm, max_parallel_requests and
//! budgets for keys, teams, users, end users, per-key models and the proxy.
//!
//! Requests are admitted against allowance leased from the control plane
//! (`lease.rs`), with no I/O while a lease lasts; a request that finds a
//! lease empty asks the control plane once (`exchange.rs`: over gRPC,
//! requests asking at the same time share calls, `batch.rs`; in one process
//! each is a direct call, `transport.rs`), and a keeper task reports
//! settlements, returns idle allowance and keeps leases alive (`keeper.rs`).
//! When the control plane is unreachable each node admits up to its fair
//! share of each limit (limit ÷ fleet size). `plan.rs` decides which meters
//! a request touches; `refusal.rs` is the 429 a client sees.

mod batch;
pub mod estimate;
mod exchange;
mod index;
mod keeper;
mod lease;
mod limiter;
mod plan;
mod refusal;
mod transport;

pub use exchange::QuotaClient;
pub use index::LimitIndex;
pub use keeper::spawn_keeper;
pub use limiter::{Limiter, Permit};
pub use plan::{Need, RequestScope, deployment as deployment_needs, plan};
pub use refusal::Refusal;
pub use transport::InProcessQuota;
