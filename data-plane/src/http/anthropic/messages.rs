//! `POST /v1/messages`: authenticate, validate, admit, route, relay or
//! translate, account — the chat path's steps with Anthropic's shapes.

use super::error::AnthropicError;
use super::operation::Messages;
use super::request::{self, MessagesRequest};
use super::{forwarded_headers, native, sse, to_chat};
use crate::http::AppState;
use crate::http::admission;
use crate::http::auth::authenticate;
use crate::http::endpoint::{
    Routed, account_failed, account_served, read_body, resolve_group, set_header,
    set_litellm_headers,
};
use crate::http::usage_headers::{Timing, set_response_cost};
use crate::providers::{AnthropicEndpoint, ChatOutput, StreamAccounting};
use crate::router;
use crate::usage::RequestMeta;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// LiteLLM's call type for `/v1/messages`.
const CALL_TYPE: &str = "anthropic_messages";

pub async fn messages(State(app): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    let (headers, body) = match read_body(request).await {
        Ok(read) => read,
        Err(e) => return AnthropicError::from(e).into_response(),
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("anthropic_messages", request_id = %request_id, model = tracing::field::Empty);
    async move {
        match handle(app, headers, body, request_id.clone(), started).await {
            Ok(response) => response,
            Err(error) => {
                let mut response = error.into_response();
                set_header(&mut response, "x-litellm-call-id", &request_id);
                response
            }
        }
    }
    .instrument(span)
    .await
}

async fn handle(
    app: AppState,
    headers: HeaderMap,
    body: Bytes,
    request_id: String,
    started: Instant,
) -> Result<Response, AnthropicError> {
    let runtime = app
        .live
        .runtime()
        .ok_or_else(crate::http::error::ApiError::not_ready)?;
    let caller = authenticate(&headers, &runtime)?;
    let MessagesRequest {
        model,
        stream,
        end_user,
        body,
    } = request::parse(&body, true)?;
    tracing::Span::current().record("model", model.as_str());
    admission::authorize(&runtime, &caller, &model, end_user.as_deref())?;
    let resolved = resolve_group(&runtime, &caller, &model)?;
    let group = resolved.group;
    let chat = to_chat::translate(&body).map_err(|e| e.message);

    let mut meta = RequestMeta::read(&body, &headers);
    // `metadata.user_id` is the end user, else LiteLLM's header.
    if end_user.is_some() {
        meta.end_user.clone_from(&end_user);
    }
    let estimate = match &chat {
        Ok(chat) => crate::limits::estimate::chat(chat, group),
        Err(_) => crate::limits::estimate::chat(&body, group),
    };
    let metered = admission::Metered {
        call_type: CALL_TYPE,
        request_id,
        model: &model,
        stream,
        meta,
        budget_estimate: estimate,
    };
    let (mut accounting, limit_headers) =
        admission::meter(&app, &runtime, &caller, metered).await?;
    let call_id = accounting.request_id().to_string();
    let overrides = router::Overrides::from_body(&body);
    let op = Messages {
        client: &app.client,
        wildcard: resolved.wildcard.as_deref(),
        endpoint: AnthropicEndpoint::Messages,
        body,
        chat,
        stream,
        headers: forwarded_headers(&headers),
        request_id: &call_id,
        model: &model,
    };
    let ctx = router::Context {
        runtime: &runtime,
        cooldowns: &app.cooldowns,
        stats: &app.stats,
        overrides,
        limiter: Some(&app.limiter),
    };
    let upstream_started = Instant::now();
    let routed = router::route_call(&ctx, &op, group).await;
    let timing = Timing::new(started, upstream_started.elapsed());
    accounting.set_overhead(timing.overhead);
    let routed = match routed {
        Ok(routed) => routed,
        Err(failed) => {
            let outcome = Routed {
                served: None,
                retries: failed.retries,
                fallbacks: failed.fallbacks,
                upstream: Duration::ZERO,
                limit_headers,
            };
            let mut response =
                AnthropicError::from(account_failed(accounting, failed)).into_response();
            set_litellm_headers(&mut response, &call_id, Some(&outcome));
            timing.set_headers(&mut response);
            return Ok(response);
        }
    };
    account_served(&mut accounting, &routed);
    let mut response = match routed.output {
        ChatOutput::Complete { body, usage } => {
            let writes = native::message_usage(&body)
                .cache_creation_input_tokens
                .unwrap_or(0);
            accounting.set_cache_creation(writes);
            accounting.usage(usage);
            let cost = accounting.cost();
            accounting.succeed(usage);
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response();
            if let Some(cost) = cost {
                set_response_cost(&mut response, cost);
            }
            response
        }
        ChatOutput::Stream(events) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            Body::from_stream(sse::body(events, accounting)),
        )
            .into_response(),
    };
    let outcome = Routed {
        served: Some((routed.group, routed.deployment)),
        retries: routed.retries,
        fallbacks: routed.fallbacks,
        upstream: Duration::ZERO,
        limit_headers,
    };
    set_litellm_headers(&mut response, &call_id, Some(&outcome));
    timing.set_headers(&mut response);
    Ok(response)
}
