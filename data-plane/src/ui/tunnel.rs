//! `/ui/api/*` → `UiService.Forward` on the control plane, over the same
//! channel (and cluster token) the rest of the data plane uses; the answer
//! is streamed back as it comes (the live tail is a long-lived body).

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::sync::connect::Endpoint;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use std::net::SocketAddr;
use tollgate_proto::v1::ui_response_chunk::Part;
use tollgate_proto::v1::ui_service_client::UiServiceClient;
use tollgate_proto::v1::{UiHeader, UiRequest};
use tollgate_web::tunnel::{PROBE_HEADER, UI_BASE_HEADER};
use tonic::transport::Channel;

/// What the control plane's dashboard API reads from a request; nothing
/// else crosses (in particular no `Authorization`: the API is cookie-only).
const FORWARDED: [&str; 8] = [
    "cookie",
    "content-type",
    "origin",
    "host",
    "sec-fetch-site",
    "x-tollgate-csrf",
    "x-forwarded-proto",
    "user-agent",
];

#[derive(Clone)]
pub struct Tunnel {
    endpoint: Endpoint,
    channel: Channel,
    base: String,
}

impl Tunnel {
    pub fn new(endpoint: Endpoint, channel: Channel) -> Self {
        Self {
            endpoint,
            channel,
            base: format!("{}/ui", tollgate_web::root_path_from_env()),
        }
    }
}

fn unreachable_control_plane() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "The control plane is unreachable: the dashboard needs it (inference keeps working). Retry when it is back.",
    )
    .into_response()
}

pub async fn forward(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tunnel = &app.ui;
    let mut forwarded: Vec<UiHeader> = headers
        .iter()
        .filter(|(name, _)| FORWARDED.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some(UiHeader {
                name: name.as_str().to_string(),
                value: value.to_str().ok()?.to_string(),
            })
        })
        .collect();
    forwarded.push(UiHeader {
        name: UI_BASE_HEADER.into(),
        value: tunnel.base.clone(),
    });
    let request = UiRequest {
        method: method.as_str().to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
        headers: forwarded,
        body: body.to_vec(),
        client_ip: peer
            .map(|Extension(ConnectInfo(a))| a.ip().to_string())
            .unwrap_or_default(),
    };
    let mut client =
        UiServiceClient::with_interceptor(tunnel.channel.clone(), tunnel.endpoint.auth());
    let mut stream = match client.forward(request).await {
        Ok(r) => r.into_inner(),
        Err(e) => {
            tracing::debug!("dashboard tunnel: {}", e.message());
            return unreachable_control_plane();
        }
    };
    let head = match stream.next().await {
        Some(Ok(chunk)) => match chunk.part {
            Some(Part::Head(head)) => head,
            _ => return unreachable_control_plane(),
        },
        _ => return unreachable_control_plane(),
    };
    if head.status == 200
        && let Some(id) = head.headers.iter().find(|h| h.name == PROBE_HEADER)
    {
        return crate::http::health_check::check_one(&app, &id.value).await;
    }
    let body = stream.map(|chunk| match chunk {
        Ok(c) => match c.part {
            Some(Part::Body(bytes)) => Ok(Bytes::from(bytes)),
            _ => Ok(Bytes::new()),
        },
        Err(status) => Err(std::io::Error::other(status.message().to_string())),
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::from_u16(u16::try_from(head.status).unwrap_or(502))
        .unwrap_or(StatusCode::BAD_GATEWAY);
    for h in head.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_str(&h.value),
        ) {
            // Framing is this connection's own.
            if name != axum::http::header::CONTENT_LENGTH
                && name != axum::http::header::TRANSFER_ENCODING
            {
                response.headers_mut().append(name, value);
            }
        }
    }
    response
}
