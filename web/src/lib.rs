//! The admin dashboard at `/ui`: static files embedded in the binary and the
//! headers that keep them safe and cacheable. Both planes mount it with
//! [`router`], giving it their own `/ui/api` router (the control plane's
//! API, or a data plane's tunnel to it).
//!
//! - `GET /ui` → `303 ui/` (relative, so any base path works).
//! - `GET /ui/` → `index.html`, `Cache-Control: no-cache`, the asset URLs
//!   in it relative (`static/<build id>/app.js`).
//! - `GET /ui/static/<build id>/<path>` → the file, `immutable`; another
//!   build id, or a missing file, is a 404 (never HTML for a script).
//! - `GET /ui/config.json` → what the page needs before login.
//! - Every answer: a strict Content-Security-Policy (`'self'` only, no
//!   inline script or style), `nosniff`, `no-referrer`, no framing; the API's
//!   answers `no-store` unless they say otherwise.

mod assets;
pub mod tunnel;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

pub use assets::BUILD_ID;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the page reads before login (`config.json`).
#[derive(Debug, Clone)]
pub struct UiConfig {
    pub version: String,
    /// `SERVER_ROOT_PATH`, normalized: "" or "/a/b".
    pub server_root_path: String,
}

/// `SERVER_ROOT_PATH` as LiteLLM reads it, normalized: "" for none, else
/// one leading slash and no trailing one ("/a/b").
pub fn root_path_from_env() -> String {
    normalize_root(&std::env::var("SERVER_ROOT_PATH").unwrap_or_default())
}

pub fn normalize_root(raw: &str) -> String {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The dashboard under `<root>/ui`, with `api` answering `<root>/ui/api/*`.
pub fn router<S: Clone + Send + Sync + 'static>(api: Router<S>, config: UiConfig) -> Router<S> {
    let root = config.server_root_path.clone();
    let config = Arc::new(config);
    let statics: Router<S> = Router::new()
        .route("/ui", get(redirect_to_slash))
        .route("/ui/", get(index))
        .route("/ui/index.html", get(index))
        .route("/ui/config.json", get(config_json))
        .route("/ui/static/{id}/{*path}", get(asset))
        .with_state(config);
    let ui = statics
        .nest("/ui/api", api.layer(axum::middleware::from_fn(no_store)))
        .layer(axum::middleware::from_fn(security_headers));
    if root.is_empty() {
        ui
    } else {
        Router::new().nest(&root, ui)
    }
}

async fn redirect_to_slash() -> Response {
    // Relative: `/x/ui` → `/x/ui/` whatever prefix a proxy added or kept.
    (StatusCode::SEE_OTHER, [(header::LOCATION, "ui/")]).into_response()
}

async fn index() -> Response {
    let Some(bytes) = assets::get("index.html") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let html =
        String::from_utf8_lossy(bytes).replace("{{STATIC}}", &format!("static/{}", *BUILD_ID));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

async fn config_json(State(config): State<Arc<UiConfig>>) -> Response {
    let body = format!(
        r#"{{"version":{},"build_id":{},"auth":["password"],"sso":false,"server_root_path":{}}}"#,
        json_string(&config.version),
        json_string(&BUILD_ID),
        json_string(&config.server_root_path),
    );
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

async fn asset(Path((id, path)): Path<(String, String)>) -> Response {
    let found = assets::get(&path).filter(|_| id == *BUILD_ID && path != "index.html");
    let Some(bytes) = found else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "not found",
        )
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, assets::content_type(&path)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response()
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    fn app(root: &str) -> Router {
        router(
            Router::new().route("/ping", get(|| async { "pong" })),
            UiConfig {
                version: "test".into(),
                server_root_path: normalize_root(root),
            },
        )
    }

    async fn get_path(app: Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn index_is_not_cached_and_names_hashed_assets_relatively() {
        let (status, headers, body) = get_path(app(""), "/ui/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
        let script = format!("src=\"static/{}/app.js\"", *BUILD_ID);
        assert!(body.contains(&script), "{body}");
        assert!(!body.contains("{{STATIC}}"));
        assert!(!body.contains("src=\"/"), "no absolute URL: {body}");
    }

    #[tokio::test]
    async fn assets_are_immutable_under_their_build_id_only() {
        let path = format!("/ui/static/{}/app.js", *BUILD_ID);
        let (status, headers, _) = get_path(app(""), &path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or("")
                .starts_with("text/javascript")
        );
        let (status, _, _) = get_path(app(""), "/ui/static/000000000000/app.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let missing = format!("/ui/static/{}/missing.js", *BUILD_ID);
        assert_eq!(get_path(app(""), &missing).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn everything_moves_under_the_root_path() {
        let (status, _, _) = get_path(app("/a/b/"), "/a/b/ui/").await;
        assert_eq!(status, StatusCode::OK);
        let (status, headers, body) = get_path(app("a/b"), "/a/b/ui/api/ping").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "pong"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let (_, _, config) = get_path(app("/a/b"), "/a/b/ui/config.json").await;
        assert!(config.contains(r#""server_root_path":"/a/b""#), "{config}");
        let (status, headers, _) = get_path(app("/a/b"), "/a/b/ui").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "ui/");
    }
}
