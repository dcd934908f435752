//! Every request's body is read before its handler answers.
//!
//! A server that answers while request bytes are still unread (a `GET` that
//! carries a body, a 401 or 404 sent before the handler looks at the body)
//! makes hyper close the connection with those bytes in the socket's
//! receive buffer, and the kernel then sends an RST instead of a FIN: the
//! client sees "connection reset by peer" instead of the response it was
//! sent. Reading the body first, in one layer in front of every route and
//! fallback of both planes, means no handler can forget to.
//!
//! The body is buffered up to [`MAX_BODY_BYTES`] and handed to the handler
//! as a complete body (handlers that read it again get it at once). A
//! larger body is answered 413 in OpenAI's error shape; what the client
//! still sends after that limit is not read (draining an unbounded body
//! would hand a client our bandwidth), so the connection closes.

use crate::error::ErrorEnvelope;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Requests carry images and long histories; LiteLLM sets no limit, which
/// invites memory exhaustion. 32 MiB covers real multimodal requests.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Wraps every route and fallback of `router` so the request body is read
/// (up to [`MAX_BODY_BYTES`]) before anything answers. Apply it last, after
/// the routes and fallbacks are added: axum layers only what exists.
pub fn read_bodies_first(router: Router) -> Router {
    router
        .layer(middleware::from_fn(read_body_first))
        // The body is already bounded here; axum's own 2 MB default for
        // `Bytes` extractors would refuse, in plain text, what we accepted.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn read_body_first(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match read_limited(body).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(ReadError::TooLarge) => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large: the limit is 32 MiB. Send smaller inputs (for images, a URL instead of inline base64).",
        ),
        Err(ReadError::Broken(cause)) => error_response(
            StatusCode::BAD_REQUEST,
            &format!("The request body could not be read ({cause}); resend the request."),
        ),
    }
}

enum ReadError {
    TooLarge,
    Broken(String),
}

async fn read_limited(body: Body) -> Result<Bytes, ReadError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ReadError::TooLarge),
        Err(e) => Err(ReadError::Broken(crate::error::display_chain(e.as_ref()))),
    }
}

fn error_response(status: StatusCode, message: &str) -> Response {
    let envelope = ErrorEnvelope::new(message, "invalid_request_error", status.as_u16());
    let mut response = (status, axum::Json(envelope)).into_response();
    // The unread rest of the body makes the connection unusable; saying so
    // lets the client close it cleanly instead of writing into it.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt as _;

    fn app() -> Router {
        read_bodies_first(
            Router::new()
                .route(
                    "/len",
                    get(|body: Bytes| async move { body.len().to_string() }),
                )
                .route("/ignores", get(|| async { "ok" })),
        )
    }

    #[tokio::test]
    async fn a_handler_sees_the_whole_body() -> Result<(), Box<dyn std::error::Error>> {
        let body = vec![b'x'; 3 * 1024 * 1024];
        let request = Request::get("/len").body(Body::from(body))?;
        let response = app().oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.into_body().collect().await?.to_bytes();
        assert_eq!(&text[..], b"3145728");
        Ok(())
    }

    #[tokio::test]
    async fn the_body_is_consumed_even_when_the_handler_ignores_it()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let finished = Arc::new(AtomicBool::new(false));
        let seen_end = Arc::clone(&finished);
        // Three chunks, then the end of the body, which flips the flag: only a
        // reader that polls the body to its end sees it flipped.
        let chunks = futures::stream::unfold(0u8, move |n| {
            let seen_end = Arc::clone(&seen_end);
            async move {
                if n == 3 {
                    seen_end.store(true, Ordering::SeqCst);
                    None
                } else {
                    Some((Ok::<_, std::io::Error>(Bytes::from_static(b"abc")), n + 1))
                }
            }
        });
        let request = Request::get("/ignores").body(Body::from_stream(chunks))?;
        let response = app().oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            finished.load(Ordering::SeqCst),
            "the body was dropped unread"
        );
        Ok(())
    }

    #[tokio::test]
    async fn an_oversized_body_is_a_413_in_openai_shape() -> Result<(), Box<dyn std::error::Error>>
    {
        let body = vec![0u8; MAX_BODY_BYTES + 1];
        let request = Request::get("/ignores").body(Body::from(body))?;
        let response = app().oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let bytes = response.into_body().collect().await?.to_bytes();
        let envelope: ErrorEnvelope = serde_json::from_slice(&bytes)?;
        assert_eq!(envelope.error.code.as_deref(), Some("413"));
        assert!(envelope.error.message.contains("32 MiB"));
        Ok(())
    }
}
