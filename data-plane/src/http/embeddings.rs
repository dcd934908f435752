//! `POST /v1/embeddings`: authenticate, validate, route (retries,
//! cooldowns, fallbacks as for chat), account.

use super::AppState;
use super::endpoint::{Routed, admit, parse_object, read_body, route_call, set_litellm_headers};
use super::error::ApiError;
use crate::providers::embeddings::{parse_encoding, parse_input};
use crate::router;
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
    let mut admitted = admit(&app, &headers, &model, request_id, CALL_TYPE)?;
    if let Some(user) = &end_user {
        admitted.accounting.set_end_user(user);
    }
    let overrides = router::Overrides::from_body(&body);
    let wildcard = admitted.wildcard.clone();
    let op = router::Embedding {
        client: &app.client,
        wildcard: wildcard.as_deref(),
        body,
        inputs,
        encoding,
        dimensions,
    };
    let (output, accounting) = route_call(&app, admitted, &op, overrides, routed_out).await?;
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
