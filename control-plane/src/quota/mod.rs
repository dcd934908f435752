//! Fleet-wide limits: the control plane leases allowance on each meter to
//! the data planes (`coordinator`), serves the lease protocol over gRPC
//! (`service`), and resets budgets when their period ends (`clock`).

mod clock;
pub mod coordinator;
mod service;

pub use clock::spawn_budget_clock;
pub use coordinator::Coordinator;
pub use service::QuotaService;
