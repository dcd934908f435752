//! `POST /v1/messages/count_tokens`: Anthropic deployments answer it
//! themselves (relayed); for any other provider the gateway counts the
//! prompt as that provider would receive it, with the deployment's
//! tokenizer. Counting is free: no limits are taken and no spend recorded.

use super::error::AnthropicError;
use super::operation::Messages;
use super::{forwarded_headers, request, to_chat};
use crate::http::AppState;
use crate::http::auth::authenticate;
use crate::http::endpoint::{read_body, resolve_group, set_header};
use crate::providers::{AnthropicEndpoint, ChatOutput};
use crate::router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn count_tokens(State(app): State<AppState>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match handle(app, request, &request_id).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    set_header(&mut response, "x-litellm-call-id", &request_id);
    response
}

async fn handle(
    app: AppState,
    request: Request,
    request_id: &str,
) -> Result<Response, AnthropicError> {
    let (headers, body) = read_body(request).await?;
    let runtime = app
        .live
        .runtime()
        .ok_or_else(crate::http::error::ApiError::not_ready)?;
    let caller = authenticate(&headers, &runtime)?;
    let parsed = request::parse(&body, false)?;
    caller.authorize_model(&runtime, &parsed.model)?;
    let resolved = resolve_group(&runtime, &caller, &parsed.model)?;
    let op = Messages {
        client: &app.client,
        wildcard: resolved.wildcard.as_deref(),
        endpoint: AnthropicEndpoint::CountTokens,
        chat: to_chat::translate(&parsed.body).map_err(|e| e.message),
        body: parsed.body,
        stream: false,
        headers: forwarded_headers(&headers),
        request_id,
        model: &parsed.model,
    };
    let ctx = router::Context {
        runtime: &runtime,
        cooldowns: &app.cooldowns,
        stats: &app.stats,
        overrides: router::Overrides::default(),
        limiter: None,
    };
    match router::route_call(&ctx, &op, resolved.group).await {
        Ok(routed) => {
            let body = match routed.output {
                ChatOutput::Complete { body, .. } => body,
                ChatOutput::Stream(_) => {
                    return Err(AnthropicError::new(
                        axum::http::StatusCode::BAD_GATEWAY,
                        "count_tokens answered with a stream",
                    ));
                }
            };
            Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response())
        }
        Err(failed) => Err(crate::http::error::ApiError::from(failed.error).into()),
    }
}
