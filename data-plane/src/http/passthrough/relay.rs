//! The provider's answer back to the client as it was sent — status,
//! headers, body bytes (a stream frame by frame) — while its usage is read
//! into the request's accounting, so even a stream the client leaves early
//! is charged for what it used.

use super::custom::CustomEndpoint;
use super::families::{Auth, Credential, Family};
use super::operation::{PassBody, PassOutput, PassThrough, relayable};
use super::usage::{Reported, StreamScanner, of_body};
use super::{CALL_TYPE, read};
use crate::http::AppState;
use crate::http::auth::authenticate;
use crate::http::endpoint::hold_limits;
use crate::http::error::ApiError;
use crate::providers::StreamAccounting;
use crate::providers::stream::Usage;
use crate::runtime::Runtime;
use crate::usage::Accounting;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use http_body_util::BodyExt;

fn apply(accounting: &mut Accounting, reported: Reported) {
    accounting.usage(reported.usage);
    accounting.set_cache_creation(reported.cache_creation);
    if reported.search_units > 0 {
        accounting.set_queries(reported.search_units);
    }
}

fn usage_of(reported: Option<Reported>) -> Usage {
    reported.map(|r| r.usage).unwrap_or_default()
}

pub fn respond(output: PassOutput, mut accounting: Accounting) -> Response {
    let PassOutput {
        status,
        headers,
        body,
        meter,
    } = output;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    for (name, value) in &headers {
        if relayable(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    match body {
        PassBody::Whole(bytes) => {
            let reported = of_body(&bytes);
            if let Some(reported) = reported {
                apply(&mut accounting, reported);
            }
            if let Some(meter) = meter {
                meter.finish(&usage_of(reported));
            }
            if status.is_success() && reported.is_none() {
                // An OpenAI-format answer without usage is counted (the
                // handler armed the tokenizer); any other charges nothing.
                accounting.succeed_with_body(Usage::default(), &bytes);
            } else if status.is_success() {
                accounting.completed();
                drop(accounting);
            } else {
                // The provider's own refusal, relayed as sent.
                accounting.fail_with(status.as_u16(), "provider_error");
            }
            *response.body_mut() = Body::from(bytes);
        }
        PassBody::Stream(mut incoming) => {
            accounting.set_stream(true);
            let content_type = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let mut scanner = StreamScanner::for_content_type(content_type);
            let stream = async_stream::stream! {
                let mut applied: Option<Reported> = None;
                let mut first = true;
                loop {
                    match incoming.frame().await {
                        Some(Ok(frame)) => {
                            let Ok(data) = frame.into_data() else { continue };
                            if first {
                                accounting.first_chunk();
                                first = false;
                            }
                            scanner.feed(&data);
                            accounting.relayed(&data);
                            let reported = scanner.reported();
                            if reported != applied && let Some(r) = reported {
                                apply(&mut accounting, r);
                                applied = reported;
                            }
                            yield Ok::<_, std::io::Error>(data);
                        }
                        Some(Err(e)) => {
                            accounting.failed("api_connection_error");
                            yield Err(std::io::Error::other(format!("the provider's stream broke: {e}")));
                            break;
                        }
                        None => {
                            accounting.completed();
                            break;
                        }
                    }
                }
                if let Some(meter) = meter {
                    meter.finish(&usage_of(applied));
                }
                drop(accounting);
            };
            *response.body_mut() = Body::from_stream(stream);
        }
    }
    response
}

/// What a custom endpoint is called as, for errors and spend logs.
static CUSTOM: Family = Family {
    name: "pass_through",
    kinds: &[],
    auth: Auth::Bearer,
    env_key: "",
    env_base: "",
    default_base: None,
};

/// Without `forward_headers`, only what describes the body goes along.
fn headers_for(endpoint: &CustomEndpoint, client: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in client {
        if endpoint.forward_headers || matches!(name.as_str(), "content-type" | "accept") {
            out.append(name, value.clone());
        }
    }
    out
}

pub async fn custom(
    app: &AppState,
    runtime: &Runtime,
    endpoint: &CustomEndpoint,
    subpath: &str,
    request: axum::extract::Request,
    request_id: String,
) -> Result<Response, ApiError> {
    let incoming = read(request).await?;
    let caller = if endpoint.auth {
        Some(authenticate(&incoming.headers, runtime)?)
    } else {
        None
    };
    let key_hash = caller
        .as_ref()
        .map(|c| c.key_hash.to_hex())
        .unwrap_or_default();
    let mut accounting = Accounting::start(app.usage.clone(), request_id, CALL_TYPE, key_hash);
    accounting.set_route(&endpoint.path, "", CUSTOM.name, &endpoint.target);
    if let Some(cost) = endpoint.cost_per_request {
        accounting.set_flat_cost(cost);
    }
    let mut limit_headers = Vec::new();
    if let Some(caller) = &caller {
        accounting.set_key(caller.key.as_deref());
        let scope = crate::limits::RequestScope {
            key: caller.key.as_deref(),
            end_user: None,
            model: &endpoint.path,
            budget_estimate: endpoint
                .cost_per_request
                .unwrap_or(crate::limits::estimate::UNKNOWN_COST),
        };
        let (held, headers) = hold_limits(app, runtime, &scope, accounting).await?;
        accounting = held;
        limit_headers = headers;
    }
    let op = PassThrough {
        client: &app.client,
        family: &CUSTOM,
        method: incoming.method,
        path: subpath.to_string(),
        query: incoming.uri.query().map(str::to_string),
        headers: headers_for(endpoint, &incoming.headers),
        body: incoming.body,
        model: None,
    };
    let credential = Credential {
        base: endpoint.target.clone(),
        headers: endpoint.headers.clone(),
        secret: None,
    };
    match op
        .send(
            &app.client,
            &credential,
            None,
            None,
            &op.path,
            op.body.clone(),
        )
        .await
    {
        Ok(output) => {
            let mut response = respond(output, accounting);
            for (name, value) in &limit_headers {
                crate::http::endpoint::set_header(&mut response, name, value);
            }
            Ok(response)
        }
        Err(e) => {
            accounting.fail_with(e.status.as_u16(), &e.kind.clone());
            Err(ApiError::from(e))
        }
    }
}
