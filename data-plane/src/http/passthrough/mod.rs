//! Provider pass-through routes (`/openai/*`, `/anthropic/*`, `/gemini/*`,
//! `/azure/*`, `/bedrock/*`, `/mistral/*`, `/cohere/*`) and the operator's
//! `general_settings.pass_through_endpoints`: a virtual key in, the
//! provider's credential out, the request and the answer (streams too)
//! relayed byte for byte. The usage the provider reported is read on the
//! way (`usage`) and charged at the deployment's price, so pass-through
//! spend is exact. A body naming a model group is routed like any call:
//! retries, fallbacks, limits and budgets.

pub mod custom;
mod eventstream_usage;
mod families;
mod operation;
mod relay;
mod usage;

pub use custom::CustomEndpoints;

use super::AppState;
use super::MAX_BODY_BYTES;
use super::admission;
use super::auth::{Caller, authenticate};
use super::endpoint::{account_failed, account_served, set_header};
use super::error::ApiError;
use crate::http::anthropic::error::AnthropicError;
use crate::router;
use crate::runtime::{Deployment, ModelGroup, Runtime};
use crate::usage::tokenizer::PromptKind;
use crate::usage::{Accounting, RequestMeta};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use families::{FAMILIES, Family};
use operation::{PassOutput, PassThrough};
use serde_json::{Map, Value};
use std::sync::Arc;

/// LiteLLM's call type for pass-through requests.
const CALL_TYPE: &str = "pass_through_endpoint";

pub fn routes() -> Router<AppState> {
    // LiteLLM's Azure-style routes (`/openai/deployments/{model}/…`) are
    // `deployment_paths`' own: more specific, they win over `/openai/*`.
    let mut router = Router::new();
    for family in &FAMILIES {
        let handler = move |State(app): State<AppState>, request: Request| {
            provider_route(app, family, request)
        };
        router = router
            .route(&format!("/{}/{{*path}}", family.name), any(handler))
            .route(&format!("/{}", family.name), any(handler));
    }
    router
}

/// An error in the route family's own shape: Anthropic's on `/anthropic`,
/// OpenAI's elsewhere.
fn error_response(family: Option<&Family>, error: ApiError) -> Response {
    match family {
        Some(f) if f.name == "anthropic" => AnthropicError::from(error).into_response(),
        _ => error.into_response(),
    }
}

struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

async fn read(request: Request) -> Result<Incoming, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "Request body is too large (the limit is 32 MiB) or could not be read.",
            )
        })?;
    Ok(Incoming {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    })
}

async fn provider_route(app: AppState, family: &'static Family, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match handle_provider(&app, family, request, request_id.clone()).await {
        Ok(response) => response,
        Err(error) => error_response(Some(family), error),
    };
    set_header(&mut response, "x-litellm-call-id", &request_id);
    response
}

/// The model a request names: the body's `model`, else its path's.
fn requested_model(body: Option<&Map<String, Value>>, path: &str) -> Option<String> {
    body.and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| families::model_in_path(path))
}

/// The model group a pass-through request is routed in: the group named
/// by `model` (then the body is given the deployment's model), else the
/// group of a deployment of this provider whose own model it is.
fn group_for<'r>(runtime: &'r Runtime, family: &Family, model: &str) -> Option<&'r ModelGroup> {
    if let Some(group) = runtime
        .group(model)
        .filter(|g| g.deployments().iter().any(|d| family.serves(d)))
    {
        return Some(group);
    }
    let deployment = runtime
        .deployments()
        .iter()
        .find(|d| family.serves(d) && d.upstream_model == model)?;
    runtime.group(&deployment.model_name)
}

/// A restricted key may pass through only to models it may use.
fn authorize(
    runtime: &Runtime,
    caller: &Caller,
    group: Option<&ModelGroup>,
    family: &Family,
) -> Result<(), ApiError> {
    match group {
        Some(group) => caller.authorize_model(runtime, &group.name),
        None if caller.is_restricted() => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "key_model_access_denied",
            format!(
                "This key can only access some models: a /{}/ request must name one of them as `model`.",
                family.name
            ),
        )),
        None => Ok(()),
    }
}

async fn handle_provider(
    app: &AppState,
    family: &'static Family,
    request: Request,
    request_id: String,
) -> Result<Response, ApiError> {
    let incoming = read(request).await?;
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let caller = authenticate(&incoming.headers, &runtime)?;
    let path = incoming
        .uri
        .path()
        .strip_prefix(&format!("/{}", family.name))
        .unwrap_or("")
        .to_string();
    let object = serde_json::from_slice::<Map<String, Value>>(&incoming.body).ok();
    let model = requested_model(object.as_ref(), &path);
    let routed_group = model
        .as_deref()
        .and_then(|m| group_for(&runtime, family, m));
    authorize(&runtime, &caller, routed_group, family)?;

    let meta = object
        .as_ref()
        .map(|b| RequestMeta::read(b, &incoming.headers))
        .unwrap_or_default();
    let estimate = match (&object, routed_group) {
        (Some(body), Some(group)) => crate::limits::estimate::chat(body, group),
        // Not routed to a configured group: nothing prices it here.
        _ => crate::limits::estimate::UNKNOWN_COST,
    };
    let metered = admission::Metered {
        call_type: CALL_TYPE,
        request_id,
        model: model.as_deref().unwrap_or(family.name),
        // The answer's framing says; the relay sets it.
        stream: false,
        meta,
        budget_estimate: estimate,
    };
    let (mut accounting, limit_headers) = admission::meter(app, &runtime, &caller, metered).await?;
    if family.speaks_openai()
        && let (Some(model), Some(body)) = (&model, &object)
        && body.get("messages").is_some()
    {
        // An OpenAI-format stream carries usage only when the client asked
        // (`stream_options.include_usage`): otherwise the tokenizer counts.
        accounting.count_if_no_usage(model, PromptKind::Chat, incoming.body.clone());
    }
    let op = PassThrough {
        client: &app.client,
        family,
        method: incoming.method,
        path,
        query: incoming.uri.query().map(str::to_string),
        headers: incoming.headers,
        body: incoming.body,
        model: object
            .as_ref()
            .and_then(|b| b.get("model"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let output = match routed_group {
        Some(group) => {
            let ctx = router::Context {
                runtime: &runtime,
                cooldowns: &app.cooldowns,
                stats: &app.stats,
                overrides: object
                    .as_ref()
                    .map(router::Overrides::from_body)
                    .unwrap_or_default(),
                limiter: Some(&app.limiter),
            };
            match router::route_call(&ctx, &op, group).await {
                Ok(routed) => {
                    account_served(&mut accounting, &routed);
                    accounting.set_query_price(crate::media::query_price(&routed.deployment));
                    let response_headers = vec![
                        ("x-litellm-model-group", routed.group.clone()),
                        ("x-litellm-model-id", routed.deployment.id.clone()),
                        ("x-litellm-attempted-retries", routed.retries.to_string()),
                        (
                            "x-litellm-attempted-fallbacks",
                            routed.fallbacks.to_string(),
                        ),
                    ];
                    (routed.output, response_headers)
                }
                Err(failed) => return Err(account_failed(accounting, failed)),
            }
        }
        None => {
            // No group to route in: the first deployment of the provider
            // lends its credential, else the environment (LiteLLM's way).
            let lender = runtime.deployments().iter().find(|d| family.serves(d));
            let credential = match lender {
                Some(d) => families::of_deployment(family, d),
                None => families::of_environment(family),
            };
            let sent = match credential {
                Ok(credential) => {
                    let client = app
                        .client
                        .with_extra_headers(lender.and_then(|d| d.extra_headers.as_ref()));
                    op.send(
                        &client,
                        &credential,
                        lender.map(Arc::as_ref),
                        None,
                        &op.path,
                        op.body.clone(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(output) => {
                    price_unrouted(
                        &mut accounting,
                        family,
                        lender.map(Arc::as_ref),
                        model.as_deref(),
                        &runtime,
                    );
                    (output, Vec::new())
                }
                Err(e) => {
                    let mut failed = accounting;
                    failed.set_route(family.name, "", family.name, "");
                    let status = e.status.as_u16();
                    let kind = e.kind.clone();
                    failed.fail_with(status, &kind);
                    return Err(ApiError::from(e));
                }
            }
        }
    };
    let (output, headers): (PassOutput, Vec<(&'static str, String)>) = output;
    let mut response = relay::respond(output, accounting);
    for (name, value) in limit_headers
        .iter()
        .map(|(n, v)| (*n, v.clone()))
        .chain(headers)
    {
        set_header(&mut response, name, &value);
    }
    Ok(response)
}

/// A request no model group serves is priced by the provider's model: a
/// configured deployment's price for it, else the built-in table's.
fn price_unrouted(
    accounting: &mut Accounting,
    family: &Family,
    lender: Option<&Deployment>,
    model: Option<&str>,
    runtime: &Runtime,
) {
    let priced = model.and_then(|m| {
        runtime
            .deployments()
            .iter()
            .find(|d| d.upstream_model == m && d.price.is_some())
            .and_then(|d| d.price)
            .or_else(|| tollgate_shared::pricing::builtin(m).map(|c| c.price))
    });
    let per_query = model.and_then(|m| {
        runtime
            .deployments()
            .iter()
            .filter(|d| d.upstream_model == m)
            .find_map(|d| crate::media::query_price(d))
    });
    accounting.set_query_price(per_query);
    let (group, id, base) = lender.map_or((family.name, "", ""), |d| {
        (d.model_name.as_str(), d.id.as_str(), d.upstream.api_base())
    });
    accounting.set_route(group, id, family.name, base);
    accounting.set_price(priced);
}

/// `general_settings.pass_through_endpoints`, tried before the 404.
pub async fn custom_route(app: &AppState, request: Request) -> Result<Response, Request> {
    let Some(runtime) = app.live.runtime() else {
        return Err(request);
    };
    let path = request.uri().path().to_string();
    let Some((endpoint, subpath)) = runtime.pass_through.find(&path) else {
        return Err(request);
    };
    let endpoint = endpoint.clone();
    let subpath = subpath.to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match relay::custom(
        app,
        &runtime,
        &endpoint,
        &subpath,
        request,
        request_id.clone(),
    )
    .await
    {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    set_header(&mut response, "x-litellm-call-id", &request_id);
    Ok(response)
}
