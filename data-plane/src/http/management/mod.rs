//! LiteLLM's management routes (`/key/*`, …) on the data-plane port. The
//! control plane is the only writer: each route translates LiteLLM's JSON
//! into a typed AdminService call, forwarding the caller's key, and the
//! answer back into LiteLLM's JSON shape.

mod applied;
mod convert;
mod customers;
mod keys;
mod org_convert;
mod request;
mod spend;
mod teams;
mod users;

pub use spend::routes as spend_routes;

/// `/key/*`, answering writes with `x-tollgate-applied`.
pub fn key_routes() -> axum::Router<super::AppState> {
    keys::routes().layer(axum::middleware::from_fn(applied::layer))
}

/// `/team/*`, `/user/*`, `/customer/*` (and `/end_user/*`), answering writes
/// with `x-tollgate-applied`.
pub fn org_routes() -> axum::Router<super::AppState> {
    teams::routes()
        .merge(users::routes())
        .merge(customers::routes())
        .layer(axum::middleware::from_fn(applied::layer))
}

/// A delete route: POST, as LiteLLM registers it, and DELETE, which
/// LiteLLM's own guides and many users send (LiteLLM answers that 405).
/// Both take the same JSON body.
fn post_or_delete<H, T>(handler: H) -> axum::routing::MethodRouter<super::AppState>
where
    H: axum::handler::Handler<T, super::AppState> + Clone,
    T: 'static,
{
    axum::routing::post(handler.clone()).delete(handler)
}
