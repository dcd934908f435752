//! `POST /v1/embeddings`: authenticate, validate, route, call, account.

use super::AppState;
use super::endpoint::{Routed, parse_object, read_body, route, set_litellm_headers, upstream_body};
use super::error::ApiError;
use crate::providers::embeddings::{EmbeddingCall, parse_encoding, parse_input};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tracing::Instrument;

const CALL_TYPE: &str = "aembedding";

pub async fn embeddings(State(app): State<AppState>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("embedding", request_id = %request_id);
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
    let inputs =
        parse_input(body.get("input")).map_err(|m| ApiError::bad_request(m, Some("input")))?;
    let encoding = parse_encoding(body.get("encoding_format"))
        .map_err(|m| ApiError::bad_request(m, Some("encoding_format")))?;
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                return Err(ApiError::bad_request(
                    "`dimensions` must be a positive integer.",
                    Some("dimensions"),
                ));
            }
        },
    };
    let end_user = body.get("user").and_then(Value::as_str).map(str::to_string);
    let (routed, mut accounting) = route(&app, &headers, &model, request_id, CALL_TYPE)?;
    *routed_out = Some(routed.clone());
    if let Some(user) = &end_user {
        accounting.set_end_user(user);
    }
    let deployment = &routed.deployment;
    let call = EmbeddingCall {
        client: &app.client,
        body: upstream_body(body, deployment),
        inputs,
        encoding,
        dimensions,
        timeout: deployment.timeout,
        model_group: &routed.group,
    };
    match deployment.upstream.embeddings(call).await {
        Err(e) => {
            accounting.fail_with(e.status.as_u16(), &e.kind);
            Err(ApiError::from(e))
        }
        Ok(output) => {
            accounting.succeed(output.usage);
            Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                output.body,
            )
                .into_response())
        }
    }
}
