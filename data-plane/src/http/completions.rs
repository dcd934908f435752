//! `POST /v1/completions`: the legacy text-completion API, forwarded to
//! OpenAI-format providers (JSON or SSE) through the router (retries,
//! cooldowns, fallbacks as for chat), usage accounted.

use super::AppState;
use super::endpoint::{
    Routed, admit, parse_object, read_body, route_call, set_litellm_headers, stream_flags,
    with_counted_usage,
};
use super::error::ApiError;
use super::usage_headers::{Timing, set_response_cost};
use crate::providers::{ChatOutput, sse_body};
use crate::router;
use crate::usage::tokenizer::PromptKind;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

const CALL_TYPE: &str = "atext_completion";

pub async fn completions(State(app): State<AppState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    // The id the telemetry layer gave the request (its span, its logs).
    let request_id = tollgate_telemetry::http::RequestId::of(request.extensions());
    let span = tracing::info_span!("text_completion", request_id = %request_id);
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

async fn handle(
    app: AppState,
    request: Request,
    request_id: String,
    routed_out: &mut Option<Routed>,
) -> Result<Response, ApiError> {
    let (headers, raw) = read_body(request).await?;
    let (model, body) = parse_object(&raw)?;
    super::validate::completion(&body)?;
    let (stream, include_usage) = stream_flags(&body)?;
    let mut admitted = admit(&app, &headers, &model, &body, request_id, CALL_TYPE).await?;
    admitted.accounting.set_stream(stream);
    let overrides = router::Overrides::from_body(&body);
    let wildcard = admitted.wildcard.clone();
    let op = router::Completion {
        client: &app.client,
        wildcard: wildcard.as_deref(),
        body,
        stream,
    };
    let (output, mut accounting) = route_call(&app, admitted, &op, overrides, routed_out).await?;
    if let Some((_, deployment)) = routed_out.as_ref().and_then(|r| r.served.as_ref()) {
        // Read only if the provider sends no usage.
        accounting.count_if_no_usage(&deployment.upstream_model, PromptKind::Text, raw);
    }
    match (output, accounting) {
        (ChatOutput::Complete { body, usage }, accounting) => {
            let settled = accounting.succeed_with_body(usage, &body);
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                with_counted_usage(body, settled.counted),
            )
                .into_response();
            if let Some(cost) = settled.cost {
                set_response_cost(&mut response, cost);
            }
            Ok(response)
        }
        (ChatOutput::Stream(chunks), accounting) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            Body::from_stream(sse_body(chunks, accounting, include_usage)),
        )
            .into_response()),
    }
}
