//! `x-tollgate-applied` on the answer of a management write: how many
//! connected data planes serve the change (`3/3`), as the control plane's
//! gRPC metadata said when it answered. `call` records the metadata in a
//! task-local that `layer` scopes around each request and copies out, so
//! every management route carries it without each handler knowing.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::cell::RefCell;
use tonic::metadata::MetadataMap;

/// Forwarded from the control plane's answer to the HTTP client.
const FORWARDED: [&str; 2] = ["x-tollgate-applied", "x-tollgate-snapshot-version"];

tokio::task_local! {
    static APPLIED: RefCell<Vec<(HeaderName, HeaderValue)>>;
}

/// Keeps the fleet headers of a control-plane answer for the response.
pub fn record(metadata: &MetadataMap) {
    let headers: Vec<(HeaderName, HeaderValue)> = FORWARDED
        .iter()
        .filter_map(|name| {
            let value = metadata.get(*name)?.to_str().ok()?;
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    if headers.is_empty() {
        return;
    }
    // Outside `layer` (a unit test calling a handler) there is nowhere to
    // put them, and nothing to lose.
    let _ = APPLIED.try_with(|cell| cell.borrow_mut().extend(headers));
}

pub async fn layer(request: Request, next: Next) -> Response {
    APPLIED
        .scope(RefCell::new(Vec::new()), async {
            let mut response = next.run(request).await;
            let headers = APPLIED.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
            for (name, value) in headers {
                response.headers_mut().insert(name, value);
            }
            response
        })
        .await
}
