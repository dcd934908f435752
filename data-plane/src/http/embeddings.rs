//! `POST /v1/embeddings`: authenticate, validate, route (retries,
//! cooldowns, fallbacks as for chat), account.

use super::AppState;
use super::endpoint::{Routed, admit, parse_object, read_body, route_call, set_litellm_headers};
use super::error::ApiError;
use super::usage_headers::{Timing, set_response_cost};
use crate::providers::embeddings::{parse_encoding, parse_input};
use crate::router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tracing::Instrument;

const CALL_TYPE: &str = "aembedding";

pub async fn embeddings(State(app): State<AppState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    // The id the telemetry layer gave the request (its span, its logs).
    let request_id = tollgate_telemetry::http::RequestId::of(request.extensions());
    let span = tracing::info_span!("embedding", request_id = %request_id);
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
    // Names the bad entry (`input[3]`); `parse_input` then reads what passed.
    super::validate::embedding(&body)?;
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
    let admitted = admit(&app, &headers, &model, &body, request_id, CALL_TYPE).await?;
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
    let cost = accounting
        .succeed_with_body(output.usage, &output.body)
        .cost;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        output.body,
    )
        .into_response();
    if let Some(cost) = cost {
        set_response_cost(&mut response, cost);
    }
    Ok(response)
}
