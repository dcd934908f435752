//! `POST /v1/completions`: the legacy text-completion API, forwarded to
//! OpenAI-format providers (JSON or SSE) through the router (retries,
//! cooldowns, fallbacks as for chat), usage accounted.

use super::AppState;
use super::endpoint::{
    Routed, admit, parse_object, read_body, route_call, set_litellm_headers, stream_flags,
};
use super::error::ApiError;
use crate::providers::{ChatOutput, sse_body};
use crate::router;
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
    let mut admitted = admit(&app, &headers, &model, request_id, CALL_TYPE)?;
    admitted.accounting.set_stream(stream);
    if let Some(user) = &end_user {
        admitted.accounting.set_end_user(user);
    }
    let overrides = router::Overrides::from_body(&body);
    let wildcard = admitted.wildcard.clone();
    let op = router::Completion {
        client: &app.client,
        wildcard: wildcard.as_deref(),
        body,
        stream,
    };
    match route_call(&app, admitted, &op, overrides, routed_out).await? {
        (ChatOutput::Complete { body, usage }, accounting) => {
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
        (ChatOutput::Stream(chunks), accounting) => Ok((
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
