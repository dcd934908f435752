//! Who is calling: the session behind the cookie, and for a write the CSRF
//! token and a same-origin request.

use super::UiError;
use super::error;
use super::session::Session;
use crate::state::AppState;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use tollgate_shared::keys::KeyHash;

pub const COOKIE: &str = "tollgate_session";
pub const CSRF_HEADER: &str = "x-tollgate-csrf";

/// The client's address, set by whichever plane received the request (the
/// control plane from the socket, a data plane in the tunnelled request).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Where the dashboard lives for this request (`<root>/ui`): the session
/// cookie's `Path`, so the browser sends it to the dashboard only.
#[derive(Debug, Clone)]
pub struct UiBase(pub String);

/// Set on requests that came through a data plane's tunnel (never from the
/// network): the data plane can act on the answer (a health probe).
#[derive(Clone, Copy, Debug)]
pub struct Tunnelled;

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn same(a: &str, b: &str) -> bool {
    // Compared by hash: the time taken does not depend on the bytes.
    KeyHash::of(a) == KeyHash::of(b)
}

/// A write from a page of this origin: `Sec-Fetch-Site` (when the browser
/// sends it) says same-origin, and `Origin` (when present) names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => host.is_some_and(|h| {
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.trim_end_matches('/') == h)
        }),
    };
    site_ok && origin_ok
}

/// The caller's live session; for anything but GET/HEAD, also the CSRF
/// token and a same-origin request.
pub struct Authed(pub Session);

impl<S> FromRequestParts<S> for Authed
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let session = current(&app, &parts.headers).await.ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "auth_error",
                "Not logged in, or the session expired: log in again.",
            )
        })?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            check_write(&parts.headers, &session)?;
        }
        Ok(Authed(session))
    }
}

pub async fn current(app: &AppState, headers: &HeaderMap) -> Option<Session> {
    let id = cookie_value(headers, COOKIE)?;
    let master = app.current().and_then(|p| p.master_key_hash);
    app.ui.sessions.touch(id, master.as_ref()).await
}

pub fn check_write(headers: &HeaderMap, session: &Session) -> Result<(), UiError> {
    let token_ok = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| same(t, &session.csrf_token));
    if !token_ok || !same_origin(headers) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "permission_error",
            "Cross-site request refused: a dashboard write needs the session's X-Tollgate-CSRF token from a page of this origin.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tollgate_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "c"), None);
    }

    #[test]
    fn a_foreign_origin_or_site_is_not_same_origin() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4000"),
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
