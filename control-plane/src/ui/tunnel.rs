//! `UiService.Forward`: a data plane's `/ui/api/*` request, run through the
//! same router the control plane's HTTP port serves, its answer streamed
//! back (head, then body chunks as they come — a live tail stays open).
//!
//! Behind the cluster-token interceptor: only a data plane may say which
//! client address a request came from.

use super::guard::{ClientIp, Tunnelled, UiBase};
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use futures::StreamExt as _;
use std::pin::Pin;
use tollgate_proto::v1::ui_response_chunk::Part;
use tollgate_proto::v1::ui_service_server::UiService;
use tollgate_proto::v1::{UiHeader, UiRequest, UiResponseChunk, UiResponseHead};
use tollgate_web::tunnel::UI_BASE_HEADER;
use tonic::{Response, Status};
use tower::ServiceExt as _;

/// Request headers a tunnelled call may carry: what the dashboard API
/// reads, nothing that could pose as the tunnel's own.
const FORWARDED: [&str; 9] = [
    "cookie",
    "content-type",
    "origin",
    "host",
    "sec-fetch-site",
    "x-tollgate-csrf",
    "x-forwarded-proto",
    "user-agent",
    "accept",
];

pub struct Tunnel {
    state: AppState,
}

impl Tunnel {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type Chunks = Pin<Box<dyn futures::Stream<Item = Result<UiResponseChunk, Status>> + Send>>;

#[tonic::async_trait]
impl UiService for Tunnel {
    type ForwardStream = Chunks;

    async fn forward(
        &self,
        request: tonic::Request<UiRequest>,
    ) -> Result<Response<Self::ForwardStream>, Status> {
        let r = request.into_inner();
        let method = Method::from_bytes(r.method.as_bytes())
            .map_err(|_| Status::invalid_argument("not an HTTP method"))?;
        if !r.path_and_query.starts_with('/') {
            return Err(Status::invalid_argument("the path must start with /"));
        }
        let mut builder = Request::builder().method(method).uri(&r.path_and_query);
        let mut base = None;
        for h in &r.headers {
            let name = h.name.to_ascii_lowercase();
            if name == UI_BASE_HEADER {
                base = Some(h.value.clone());
            } else if FORWARDED.contains(&name.as_str())
                && let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&h.value),
                )
            {
                builder = builder.header(n, v);
            }
        }
        let mut http = builder
            .body(Body::from(r.body))
            .map_err(|e| Status::invalid_argument(format!("bad request: {e}")))?;
        http.extensions_mut().insert(ClientIp(r.client_ip));
        http.extensions_mut().insert(Tunnelled);
        http.extensions_mut()
            .insert(UiBase(base.unwrap_or_else(|| "/ui".into())));
        let answer = super::api(self.state.clone())
            .oneshot(http)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = answer.into_parts();
        let head = UiResponseChunk {
            part: Some(Part::Head(UiResponseHead {
                status: u32::from(parts.status.as_u16()),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| {
                        Some(UiHeader {
                            name: n.as_str().to_string(),
                            value: v.to_str().ok()?.to_string(),
                        })
                    })
                    .collect(),
            })),
        };
        let frames = body.into_data_stream().map(|chunk| match chunk {
            Ok(bytes) => Ok(UiResponseChunk {
                part: Some(Part::Body(bytes.to_vec())),
            }),
            Err(e) => Err(Status::internal(format!("dashboard answer failed: {e}"))),
        });
        let stream = futures::stream::once(async move { Ok(head) }).chain(frames);
        Ok(Response::new(Box::pin(stream)))
    }
}
