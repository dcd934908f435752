//! Teams and their members (LiteLLM's `/team/*`). A team's model list,
//! block and limits apply to every key of the team; every change
//! republishes the snapshot before the call returns.

mod convert;
mod service;

pub use convert::team_to_snapshot;
pub use service::TeamService;

/// LiteLLM's team roles.
pub const TEAM_ROLES: [&str; 2] = ["admin", "user"];
