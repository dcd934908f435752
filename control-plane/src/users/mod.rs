//! Internal users (LiteLLM's `/user/*`): they own keys, belong to teams and
//! carry the role that decides what their keys may do on management routes.

mod convert;
mod service;

pub use convert::{blank_user, user_to_snapshot};
pub use service::UserService;

/// LiteLLM's user roles that Tollgate gives meaning to.
pub const USER_ROLES: [&str; 4] = [
    "proxy_admin",
    "proxy_admin_viewer",
    "internal_user",
    "internal_user_viewer",
];
