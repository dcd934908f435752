//! `POST /login`, `POST /logout`, `GET /session`.
//!
//! Accepted: `UI_USERNAME` (default `admin`) with `UI_PASSWORD`, or with
//! the master key when no `UI_PASSWORD` is set (LiteLLM's rule), or a user id with a live key of that user
//! whose role is `proxy_admin` or `proxy_admin_viewer`. Nothing is minted:
//! the session is a row in memory and a random id in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/ui`. Failures are counted per
//! client address and user name and answered alike, whatever was wrong.

use super::guard::{Authed, COOKIE, ClientIp, UiBase, cookie_value};
use super::session::{self, Role, Session};
use super::{bad_request, error};
use crate::grpc::Principal;
use crate::state::AppState;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;
use tollgate_shared::keys::KeyHash;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

fn session_json(s: &Session) -> serde_json::Value {
    json!({
        "user_id": s.user_id,
        "role": s.role.as_str(),
        "csrf_token": s.csrf_token,
        "expires_at": s.expires_at.to_rfc3339(),
    })
}

fn cookie(
    app: &AppState,
    headers: &HeaderMap,
    base: &str,
    value: &str,
    max_age: Option<u64>,
) -> String {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut c = format!("{COOKIE}={value}; Path={base}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if app.ui.secure_cookie || https {
        c.push_str("; Secure");
    }
    c
}

/// Who the credentials are, if anyone (no early return on a partial match:
/// every failure looks the same).
async fn verify(app: &AppState, c: &Credentials) -> Option<(String, Role, Option<KeyHash>)> {
    let ui = &app.ui;
    let is_ui_user = c.username == ui.username;
    // LiteLLM: `UI_PASSWORD` when set, else the master key.
    if is_ui_user && ui.password.is_none() && app.is_master_key(Some(&c.password)) {
        return Some((
            c.username.clone(),
            Role::Admin,
            app.current().and_then(|p| p.master_key_hash),
        ));
    }
    if is_ui_user
        && let Some(password) = &ui.password
        && KeyHash::of(password.expose()) == KeyHash::of(&c.password)
    {
        return Some((c.username.clone(), Role::Admin, None));
    }
    // A user's own key: the AdminService's rule says what it may do.
    let mut probe = tonic::Request::new(());
    let bearer = format!("Bearer {}", c.password).parse().ok()?;
    probe.metadata_mut().insert("authorization", bearer);
    let role = match crate::grpc::principal(app, &probe).await.ok()? {
        Principal::Admin => Role::Admin,
        Principal::Viewer => Role::Viewer,
        Principal::Key { .. } => return None,
    };
    let token = KeyHash::of(&c.password).to_hex();
    let key = app.keys.get(&token).await.ok()?.key?;
    (key.user_id.as_deref() == Some(c.username.as_str())).then(|| (c.username.clone(), role, None))
}

pub async fn login(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    base: Option<Extension<UiBase>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(credentials) = serde_json::from_slice::<Credentials>(&body) else {
        return bad_request("Send {\"username\": …, \"password\": …} as JSON.").into_response();
    };
    let ip = ip.map(|Extension(ClientIp(ip))| ip).unwrap_or_default();
    let who = format!("{ip}|{}", credentials.username);
    if let Some(wait) = app.ui.login_failures.blocked(&who) {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!(
                "Too many failed logins ({} within {} s): try again in {} s.",
                session::MAX_FAILURES,
                session::WINDOW.as_secs(),
                wait.as_secs().max(1)
            ),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let Some((user_id, role, master_key)) = verify(&app, &credentials).await else {
        app.ui.login_failures.failed(&who);
        return error(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "Invalid username or password.",
        )
        .into_response();
    };
    app.ui.login_failures.succeeded(&who);
    let (id, session) = match app.ui.sessions.open(user_id, role, master_key).await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %e, "dashboard login: the session could not be stored");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The control plane's database did not store the session: try again shortly.",
            )
            .into_response();
        }
    };
    let base = base
        .map(|Extension(UiBase(b))| b)
        .unwrap_or_else(|| "/ui".into());
    let set = cookie(&app, &headers, &base, &id, None);
    let mut response = Json(session_json(&session)).into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

pub async fn logout(
    State(app): State<AppState>,
    Authed(_): Authed,
    base: Option<Extension<UiBase>>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = cookie_value(&headers, COOKIE) {
        app.ui.sessions.close(id).await;
    }
    let base = base
        .map(|Extension(UiBase(b))| b)
        .unwrap_or_else(|| "/ui".into());
    let clear = cookie(&app, &headers, &base, "", Some(0));
    let mut response = Json(json!({"logged_out": true})).into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// 200 either way (a page asking "am I logged in?" is not an error):
/// `{"logged_in": false}`, or the session with its CSRF token.
pub async fn session(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match super::guard::current(&app, &headers).await {
        Some(s) => {
            let mut body = session_json(&s);
            body["logged_in"] = json!(true);
            Json(body).into_response()
        }
        None => Json(json!({"logged_in": false})).into_response(),
    }
}
