//! `POST /v1/completions`: the legacy text-completion API, forwarded to
//! OpenAI-format providers (JSON or SSE), usage accounted.

use super::AppState;
use super::endpoint::{
    Routed, parse_object, read_body, route, set_litellm_headers, stream_flags, upstream_body,
};
use super::error::ApiError;
use crate::providers::{ChatOutput, CompletionCall, sse_body};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tracing::Instrument;

const CALL_TYPE: &str = "atext_completion";

pub async fn completions(State(app): State<AppState>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("text_completion", request_id = %request_id);
    async move {
        let mut routed = None;
        let result = handle(app, request, request_id.clone(), &mut routed).await;
        let mut response = result.unwrap_or_else(IntoResponse::into_response);
        set_litellm_headers(&mut response, &request_id, routed.as_ref());
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
    let (headers, body) = read_body(request).await?;
    let (model, body) = parse_object(&body)?;
    match body.get("prompt") {
        Some(Value::String(_) | Value::Array(_)) => {}
        _ => {
            return Err(ApiError::bad_request(
                "`prompt` is required: a string, an array of strings, or token arrays.",
                Some("prompt"),
            ));
        }
    }
    let (stream, _) = stream_flags(&body)?;
    let end_user = body.get("user").and_then(Value::as_str).map(str::to_string);
    let (routed, mut accounting) = route(&app, &headers, &model, request_id, CALL_TYPE)?;
    *routed_out = Some(routed.clone());
    accounting.set_stream(stream);
    if let Some(user) = &end_user {
        accounting.set_end_user(user);
    }
    let deployment = &routed.deployment;
    let call = CompletionCall {
        client: &app.client,
        body: upstream_body(body, deployment),
        stream,
        timeout: deployment.timeout,
        stream_timeout: deployment.stream_timeout,
    };
    match deployment.upstream.completions(call).await {
        Err(e) => {
            accounting.fail_with(e.status.as_u16(), &e.kind);
            Err(ApiError::from(e))
        }
        Ok(ChatOutput::Complete { body, usage }) => {
            accounting.succeed(usage);
            Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response())
        }
        Ok(ChatOutput::Stream(chunks)) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            Body::from_stream(sse_body(chunks, accounting)),
        )
            .into_response()),
    }
}
