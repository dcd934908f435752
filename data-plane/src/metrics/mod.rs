//! The data plane's Prometheus metrics (docs/OBSERVABILITY.md lists them).
//! Per-deployment handles are made once per snapshot (`Runtime::build`);
//! a request only adds to atomics. Label values come from the snapshot
//! (model groups, deployments, providers) or closed lists; a per-team or
//! per-key label only when the config opts in.

mod deployment;
mod node;

pub use deployment::{DeploymentMetrics, LabelOptions};
pub use node::scrape;
