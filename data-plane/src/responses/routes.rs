//! `POST /v1/responses`, `GET`/`DELETE /v1/responses/{id}` and
//! `GET /v1/responses/{id}/input_items`, through the chat path's machinery:
//! key auth and model access, fleet-wide limits and budgets, the router's
//! retries and fallbacks, exact spend and one usage record per request.

use super::bridge_request::{self, Unbridgeable};
use super::bridge_response::{finish, output_of_chat, template};
use super::bridge_stream::Translator;
use super::ids::{Opened, Sealer};
use super::native::NativeIds;
use super::operation::{Output, Responses, is_native};
use super::sse;
use crate::http::AppState;
use crate::http::admission;
use crate::http::auth::{Caller, authenticate, presented_key};
use crate::http::endpoint::{
    Admitted, Routed, parse_object, read_body, resolve_group, route_call, set_litellm_headers,
    stream_flags,
};
use crate::http::error::ApiError;
use crate::http::usage_headers::{Timing, set_response_cost};
use crate::providers::{ChatOutput, ProviderError};
use crate::router;
use crate::runtime::{Deployment, Runtime};
use crate::usage::tokenizer::PromptKind;
use crate::usage::{Accounting, RequestMeta};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tracing::Instrument;

/// LiteLLM's call type for the Responses API.
const CALL_TYPE: &str = "aresponses";

pub async fn create(State(app): State<AppState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("responses", request_id = %request_id);
    async move {
        let mut routed = None;
        let result = handle(app, request, request_id.clone(), &mut routed).await;
        let mut response = result.unwrap_or_else(IntoResponse::into_response);
        set_litellm_headers(&mut response, &request_id, routed.as_ref());
        if let Some(routed) = &routed {
            Timing::new(started, routed.upstream).set_headers(&mut response);
        }
        response
    }
    .instrument(span)
    .await
}

fn not_found(id: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("Response with id '{id}' not found."),
    );
    e.body.error.param = Some("response_id".into());
    e
}

fn unbridgeable(e: Unbridgeable) -> ApiError {
    ApiError::bad_request(e.message, Some(&e.param))
}

/// What `previous_response_id` resolved to.
enum Previous {
    None,
    /// A bridged conversation: its items come before this turn's input.
    Bridged(Vec<Value>),
    /// A native response: continued on its deployment, by its upstream id.
    Native {
        deployment: String,
        upstream: String,
    },
}

fn previous(sealer: &Sealer, body: &Map<String, Value>) -> Result<Previous, ApiError> {
    let id = match body.get("previous_response_id") {
        None | Some(Value::Null) => return Ok(Previous::None),
        Some(Value::String(id)) => id,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`previous_response_id` must be a string.",
                Some("previous_response_id"),
            ));
        }
    };
    match sealer.open(id) {
        Some(Opened::Bridged(state)) => {
            let mut items: Vec<Value> = state
                .get("input")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(output) = state
                .get("response")
                .and_then(|r| r.get("output"))
                .and_then(Value::as_array)
            {
                items.extend(output.iter().cloned());
            }
            Ok(Previous::Bridged(items))
        }
        Some(Opened::Native {
            deployment,
            upstream,
        }) => Ok(Previous::Native {
            deployment,
            upstream,
        }),
        None => {
            let mut e = ApiError::bad_request(
                format!("Previous response with id '{id}' not found."),
                Some("previous_response_id"),
            );
            e.body.error.code = Some("previous_response_not_found".into());
            Err(e)
        }
    }
}

async fn handle(
    app: AppState,
    request: Request,
    request_id: String,
    routed_out: &mut Option<Routed>,
) -> Result<Response, ApiError> {
    let (headers, raw) = read_body(request).await?;
    let (model, mut body) = parse_object(&raw)?;
    let (stream, _) = stream_flags(&body)?;
    let input = body.get("input").ok_or_else(|| {
        ApiError::bad_request(
            "`input` is required: a string or an array of input items.",
            Some("input"),
        )
    })?;
    let input = bridge_request::input_items(input).map_err(unbridgeable)?;
    if let Some(n) = body.get("max_output_tokens").filter(|v| !v.is_null())
        && n.as_u64().is_none_or(|n| n == 0)
    {
        return Err(ApiError::bad_request(
            "`max_output_tokens` must be a positive integer.",
            Some("max_output_tokens"),
        ));
    }

    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let meta = RequestMeta::read(&body, &headers);
    let caller = admission::caller_for(&runtime, &headers, &model, meta.end_user.as_deref())?;
    let sealer = Sealer::for_key(presented_key(&headers).unwrap_or_default());
    let previous = previous(&sealer, &body)?;
    let resolved = resolve_group(&runtime, &caller, &model)?;
    let mut group = resolved.group;

    // The conversation so far, then this turn.
    let mut items = match &previous {
        Previous::Bridged(history) => history.clone(),
        _ => Vec::new(),
    };
    items.extend(input.iter().cloned());
    let client_previous = body
        .get("previous_response_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut native = body.clone();
    match &previous {
        Previous::None => {}
        // A native deployment gets the whole conversation as input.
        Previous::Bridged(_) => {
            native.remove("previous_response_id");
            native.insert("input".into(), Value::Array(items.clone()));
        }
        // Continued where it lives: that deployment only (its group's
        // other deployments do not know the id).
        Previous::Native {
            deployment,
            upstream,
        } => {
            let pinned = runtime
                .group(deployment)
                .filter(|g| g.deployments().iter().any(|d| d.model_name == group.name));
            let Some(pinned) = pinned else {
                return Err(ApiError::bad_request(
                    format!(
                        "Previous response with id '{}' was not made by model {model}.",
                        client_previous.as_deref().unwrap_or_default()
                    ),
                    Some("previous_response_id"),
                ));
            };
            group = pinned;
            native.insert(
                "previous_response_id".into(),
                Value::String(upstream.clone()),
            );
        }
    }
    let chat_body = match &previous {
        // Only its own deployment can continue a native conversation.
        Previous::Native { .. } => Err(Unbridgeable {
            message: "a native response is continued on its own deployment".into(),
            param: "previous_response_id".into(),
        }),
        _ => bridge_request::to_chat(&body, &items),
    };
    let all_bridged = !group.deployments().iter().any(|d| is_native(d));
    if all_bridged && let Err(e) = &chat_body {
        return Err(unbridgeable(e.clone()));
    }

    let estimate = match &chat_body {
        Ok(chat) => crate::limits::estimate::chat(chat, group),
        Err(_) => crate::limits::estimate::input_output(&native, group),
    };
    let metered = admission::Metered {
        call_type: CALL_TYPE,
        request_id,
        model: &model,
        stream,
        meta,
        budget_estimate: estimate,
    };
    let (accounting, limit_headers) = admission::meter(&app, &runtime, &caller, metered).await?;
    let overrides = router::Overrides::from_body(&body);
    let call_id = accounting.request_id().to_string();
    let chat_bytes = chat_body
        .as_ref()
        .ok()
        .and_then(|c| serde_json::to_vec(c).ok())
        .map(Bytes::from);
    let op = Responses {
        client: &app.client,
        wildcard: resolved.wildcard.as_deref(),
        native,
        chat: chat_body
            .map(|chat| router::Chat {
                client: &app.client,
                wildcard: resolved.wildcard.as_deref(),
                body: chat,
                stream,
                include_usage: false,
                request_id: &call_id,
            })
            .map_err(|e| ProviderError::invalid_request(e.message, Some(&e.param))),
        stream,
    };
    let admitted = Admitted {
        runtime: Arc::clone(&runtime),
        group: group.name.clone(),
        wildcard: resolved.wildcard.clone(),
        accounting,
        limit_headers,
    };
    let (output, mut accounting) = route_call(&app, admitted, &op, overrides, routed_out).await?;
    let Some((_, deployment)) = routed_out.as_ref().and_then(|r| r.served.clone()) else {
        return Err(ApiError::not_ready());
    };
    body.insert("model".into(), Value::String(model.clone()));
    match output {
        Output::Native(output) => {
            let ids = NativeIds::new(sealer, deployment.id.clone(), client_previous);
            Ok(native_response(output, accounting, ids))
        }
        Output::Bridged(output) => {
            if let Some(bytes) = chat_bytes {
                accounting.count_if_no_usage(&deployment.upstream_model, PromptKind::Chat, bytes);
            }
            Ok(bridged_response(
                output, accounting, sealer, &body, &model, items,
            ))
        }
    }
}

fn json_response(body: impl Into<Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

fn sse_response(body: Body) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn native_response(output: ChatOutput, accounting: Accounting, mut ids: NativeIds) -> Response {
    match output {
        ChatOutput::Complete { body, usage } => {
            let settled = accounting.succeed_with_body(usage, &body);
            let body = ids.rewrite_body(&body).map_or(body, Bytes::from);
            let mut response = json_response(body);
            if let Some(cost) = settled.cost {
                set_response_cost(&mut response, cost);
            }
            response
        }
        ChatOutput::Stream(chunks) => {
            sse_response(Body::from_stream(sse::native_body(chunks, accounting, ids)))
        }
    }
}

/// The state a bridged response's id carries.
fn seal_state(sealer: &Sealer, items: &[Value], response: &Map<String, Value>) -> String {
    let state = json!({"input": items, "response": response});
    sealer
        .seal_bridged(&state)
        // Sealing only fails if the system RNG does: the response keeps a
        // fresh id, which cannot be continued.
        .unwrap_or_else(|| super::bridge_response::item_id("resp"))
}

fn bridged_response(
    output: ChatOutput,
    accounting: Accounting,
    sealer: Sealer,
    body: &Map<String, Value>,
    model: &str,
    items: Vec<Value>,
) -> Response {
    let created_at = chrono::Utc::now().timestamp();
    let object = template(body, model, created_at);
    match output {
        ChatOutput::Complete { body: chat, usage } => {
            let settled = accounting.succeed_with_body(usage, &chat);
            let usage = settled.counted.unwrap_or(usage);
            let parsed: Value = serde_json::from_slice(&chat).unwrap_or(Value::Null);
            let (output, finish_reason) = output_of_chat(&parsed);
            let mut response = finish(object, output, Some(usage), finish_reason.as_deref());
            let id = seal_state(&sealer, &items, &response);
            response.insert("id".into(), Value::String(id));
            let mut answer = json_response(Value::Object(response).to_string());
            if let Some(cost) = settled.cost {
                set_response_cost(&mut answer, cost);
            }
            answer
        }
        ChatOutput::Stream(chunks) => {
            let mut object = object;
            // The stream's first events cannot carry the conversation yet:
            // they show a provisional id, `response.completed` the real one.
            object.insert(
                "id".into(),
                Value::String(super::bridge_response::item_id("resp")),
            );
            let translator = Translator::new(object);
            let seal = Box::new(move |response: &Map<String, Value>| {
                seal_state(&sealer, &items, response)
            });
            sse_response(Body::from_stream(sse::bridged_body(
                chunks, accounting, translator, seal,
            )))
        }
    }
}

/// The caller and its sealer for the id routes.
fn caller_of(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<(Arc<Runtime>, Caller, Sealer), ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let caller = authenticate(headers, &runtime)?;
    let sealer = Sealer::for_key(presented_key(headers).unwrap_or_default());
    Ok((runtime, caller, sealer))
}

/// The native deployment an id names, if the caller may use its model.
fn native_deployment(
    runtime: &Runtime,
    caller: &Caller,
    deployment: &str,
    id: &str,
) -> Result<Arc<Deployment>, ApiError> {
    let d = runtime
        .group(deployment)
        .and_then(|g| g.deployments().first().cloned())
        .ok_or_else(|| not_found(id))?;
    caller.authorize_model(runtime, &d.model_name)?;
    Ok(d)
}

pub async fn retrieve(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    by_id(app, id, headers, Method::GET).await
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    by_id(app, id, headers, Method::DELETE).await
}

async fn by_id(app: AppState, id: String, headers: HeaderMap, method: Method) -> Response {
    let result = async {
        let (runtime, caller, sealer) = caller_of(&app, &headers)?;
        match sealer.open(&id).ok_or_else(|| not_found(&id))? {
            Opened::Bridged(state) => {
                let model = state
                    .get("response")
                    .and_then(|r| r.get("model"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                caller.authorize_model(&runtime, model)?;
                if method == Method::DELETE {
                    // Nothing is stored anywhere but in the id itself.
                    return Ok(json_response(
                        json!({"id": id, "object": "response", "deleted": true}).to_string(),
                    ));
                }
                let mut response = state.get("response").cloned().unwrap_or(json!({}));
                response["id"] = Value::String(id.clone());
                Ok(json_response(response.to_string()))
            }
            Opened::Native {
                deployment,
                upstream,
            } => {
                let d = native_deployment(&runtime, &caller, &deployment, &id)?;
                let body = d
                    .upstream
                    .response_by_id(&app.client, method, &upstream, "", d.timeout)
                    .await
                    .map_err(ApiError::from)?;
                let mut ids = NativeIds::new(sealer, d.id.clone(), None).knowing(&upstream, &id);
                let body = ids.rewrite_body(&body).map_or(body, Bytes::from);
                Ok::<_, ApiError>(json_response(body))
            }
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/responses/{id}/input_items`: a bridged response's input, from
/// its id; a native one's from its provider.
pub async fn input_items(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (runtime, caller, sealer) = caller_of(&app, &headers)?;
        match sealer.open(&id).ok_or_else(|| not_found(&id))? {
            Opened::Bridged(state) => {
                let model = state
                    .get("response")
                    .and_then(|r| r.get("model"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                caller.authorize_model(&runtime, model)?;
                let data = state.get("input").cloned().unwrap_or(json!([]));
                // OpenAI lists the newest first by default.
                let mut data = data.as_array().cloned().unwrap_or_default();
                data.reverse();
                let first = data.first().and_then(|i| i.get("id")).cloned();
                let last = data.last().and_then(|i| i.get("id")).cloned();
                Ok(json_response(
                    json!({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": false}).to_string(),
                ))
            }
            Opened::Native {
                deployment,
                upstream,
            } => {
                let d = native_deployment(&runtime, &caller, &deployment, &id)?;
                let body = d
                    .upstream
                    .response_by_id(&app.client, Method::GET, &upstream, "/input_items", d.timeout)
                    .await
                    .map_err(ApiError::from)?;
                Ok::<_, ApiError>(json_response(body))
            }
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
