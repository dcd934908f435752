//! The dashboard on a data plane: the page itself from `tollgate-web`, and
//! its API (`/ui/api/*`) tunnelled to the control plane, which owns the
//! sessions and the database ([`tunnel`]). A data plane keeps no dashboard
//! state, so a login works through whichever replica the load balancer
//! picks; inference (`/v1/*`) never reads the dashboard's cookie.

mod tunnel;

pub use tunnel::Tunnel;

use crate::http::AppState;
use axum::Router;
use axum::routing::any;

/// `<SERVER_ROOT_PATH>/ui` and everything under it.
pub fn routes() -> Router<AppState> {
    let root = tollgate_web::root_path_from_env();
    let api = Router::new()
        .route("/", any(tunnel::forward))
        .route("/{*rest}", any(tunnel::forward));
    tollgate_web::router(
        api,
        tollgate_web::UiConfig {
            version: env!("CARGO_PKG_VERSION").to_string(),
            server_root_path: root,
        },
    )
}
