//! `POST /v1/chat/completions`: authenticate, validate, route, call, relay,
//! account. All state comes from the runtime loaded once at the start.

use super::AppState;
use super::MAX_BODY_BYTES;
use super::admission;
use super::auth::authenticate;
use super::endpoint::{
    Routed, account_failed, account_served, resolve_group, set_header, set_litellm_headers,
};
use super::error::ApiError;
use super::usage_headers::{Timing, set_response_cost};
use crate::providers::{ChatOutput, sse_body};
use crate::router;
use crate::usage::RequestMeta;
use crate::usage::tokenizer::PromptKind;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};
use tracing::Instrument;

const CALL_TYPE: &str = "acompletion";

pub async fn chat_completions(State(app): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    // Taking the request whole moves the headers instead of cloning them.
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "Request body is too large (the limit is 32 MiB) or could not be read.",
            )
            .into_response();
        }
    };
    // The id the telemetry layer gave the request (its span, its logs).
    let request_id = tollgate_telemetry::http::RequestId::of(&parts.extensions);
    let span = tracing::info_span!("chat_completion", request_id = %request_id, model = tracing::field::Empty);
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

/// The fields of a chat request Tollgate itself reads; the rest is
/// forwarded untouched.
struct ChatRequest {
    model: String,
    stream: bool,
    include_usage: bool,
    end_user: Option<String>,
    body: Map<String, Value>,
}

fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            format!("Request body is not valid JSON: {e}. Send a JSON object such as {{\"model\": \"gpt-4o\", \"messages\": [...]}}."),
            None,
        )
    })?;
    let Value::Object(body) = value else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object.",
            None,
        ));
    };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "`model` is required and must be a string. Call `/v1/models` to see the models available to your key.",
                Some("model"),
            ));
        }
    };
    // Every message, tool and parameter is checked before anything is sent.
    super::validate::chat(&body)?;
    let (stream, include_usage) = super::endpoint::stream_flags(&body)?;
    let end_user = body.get("user").and_then(Value::as_str).map(str::to_string);
    Ok(ChatRequest {
        model,
        stream,
        include_usage,
        end_user,
        body,
    })
}

async fn handle(
    app: AppState,
    headers: HeaderMap,
    body: Bytes,
    request_id: String,
    started: Instant,
) -> Result<Response, ApiError> {
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let caller = authenticate(&headers, &runtime)?;
    let request = parse(&body)?;
    tracing::Span::current().record("model", request.model.as_str());
    admission::authorize(
        &runtime,
        &caller,
        &request.model,
        request.end_user.as_deref(),
    )?;

    let resolved = resolve_group(&runtime, &caller, &request.model)?;
    let group = resolved.group;

    // The body's `user`, else LiteLLM's end-user header, is metered.
    let meta = RequestMeta::read(&request.body, &headers);
    let metered = admission::Metered {
        call_type: CALL_TYPE,
        request_id,
        model: &request.model,
        stream: request.stream,
        meta,
        budget_estimate: crate::limits::estimate::chat(&request.body, group),
    };
    let (mut accounting, limit_headers) =
        admission::meter(&app, &runtime, &caller, metered).await?;
    let call_id = accounting.request_id().to_string();
    let overrides = router::Overrides::from_body(&request.body);
    let upstream_started = Instant::now();
    let routed = router::route(
        router::Request {
            runtime: &runtime,
            client: &app.client,
            cooldowns: &app.cooldowns,
            stats: &app.stats,
            wildcard: resolved.wildcard.as_deref(),
            body: request.body,
            stream: request.stream,
            include_usage: request.include_usage,
            request_id: &call_id,
            overrides,
            limiter: Some(&app.limiter),
        },
        group,
    )
    .await;
    let timing = Timing::new(started, upstream_started.elapsed());

    let (mut response, routed) = match routed {
        Err(failed) => {
            accounting.set_overhead(timing.overhead);
            let outcome = Routed {
                served: None,
                retries: failed.retries,
                fallbacks: failed.fallbacks,
                upstream: Duration::ZERO,
                limit_headers,
            };
            let mut response = account_failed(accounting, failed).into_response();
            set_litellm_headers(&mut response, &call_id, Some(&outcome));
            timing.set_headers(&mut response);
            return Ok(response);
        }
        Ok(routed) => {
            account_served(&mut accounting, &routed);
            accounting.set_overhead(timing.overhead);
            let d = &routed.deployment;
            // Only read if the provider sends no usage (the request bytes
            // are shared, not copied).
            accounting.count_if_no_usage(&d.upstream_model, PromptKind::Chat, body.clone());
            let mut response_cost = None;
            let response = match routed.output {
                ChatOutput::Complete { body, usage } => {
                    let settled = accounting.succeed_with_body(usage, &body);
                    response_cost = settled.cost;
                    let body = super::endpoint::with_counted_usage(body, settled.counted);
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        body,
                    )
                        .into_response()
                }
                ChatOutput::Stream(chunks) => (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/event-stream"),
                        ),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                    ],
                    Body::from_stream(sse_body(chunks, accounting, request.include_usage)),
                )
                    .into_response(),
            };
            let mut response = response;
            if let Some(cost) = response_cost {
                set_response_cost(&mut response, cost);
            }
            let outcome = Routed {
                served: Some((routed.group, routed.deployment)),
                retries: routed.retries,
                fallbacks: routed.fallbacks,
                upstream: Duration::ZERO,
                limit_headers,
            };
            (response, outcome)
        }
    };
    set_litellm_headers(&mut response, &call_id, Some(&routed));
    timing.set_headers(&mut response);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = parse(b"{not json").err().expect("invalid json");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.body.error.message.contains("not valid JSON"));
        let e = parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#)
            .err()
            .expect("no model");
        assert_eq!(e.body.error.param.as_deref(), Some("model"));
        let e = parse(br#"{"model":"m","messages":[]}"#)
            .err()
            .expect("empty messages");
        assert_eq!(e.body.error.param.as_deref(), Some("messages"));
        let e = parse(br#"{"model":"m","messages":[{}]}"#)
            .err()
            .expect("message without a role");
        assert_eq!(e.body.error.param.as_deref(), Some("messages[0].role"));
        let e =
            parse(br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#)
                .err()
                .expect("bad stream");
        assert_eq!(e.body.error.param.as_deref(), Some("stream"));
        let ok = parse(br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"user":"u1"}"#).expect("valid");
        assert!(ok.stream && ok.include_usage);
        assert_eq!(ok.end_user.as_deref(), Some("u1"));
    }
}
