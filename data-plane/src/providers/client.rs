//! The HTTP client every provider shares: hyper with rustls, pooled
//! keep-alive connections, HTTP/2 where the provider negotiates it.
//!
//! hyper directly rather than reqwest: the request path builds each request
//! from pre-parsed parts (URI, auth header), and reqwest's per-request work
//! (URL handling, proxy matching, redirect policy) cost about a third of the
//! data plane's user-space CPU in benchmarks.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

pub type RequestBody = Full<Bytes>;

#[derive(Clone)]
pub struct HttpClient {
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector>, RequestBody>,
    /// A deployment's `extra_headers`, added to each request sent through
    /// this handle. Never over a header the provider's translation set
    /// itself (auth, content type, a SigV4 signature), which must stay valid.
    extra_headers: Option<Arc<http::HeaderMap>>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot load the system's CA certificates: {0}")]
pub struct ClientError(#[from] std::io::Error);

impl HttpClient {
    pub fn new() -> Result<Self, ClientError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(https);
        Ok(Self {
            inner,
            extra_headers: None,
        })
    }

    /// This client, sending `headers` too (the same pool: only a handle is
    /// cloned, and only when there are headers).
    pub fn with_extra_headers(&self, headers: Option<&Arc<http::HeaderMap>>) -> Cow<'_, Self> {
        match headers {
            None => Cow::Borrowed(self),
            Some(headers) => Cow::Owned(Self {
                inner: self.inner.clone(),
                extra_headers: Some(Arc::clone(headers)),
            }),
        }
    }

    pub async fn send(
        &self,
        mut request: http::Request<RequestBody>,
    ) -> Result<http::Response<Incoming>, hyper_util::client::legacy::Error> {
        if let Some(extra) = &self.extra_headers {
            let headers = request.headers_mut();
            for (name, value) in extra.iter() {
                if !headers.contains_key(name) {
                    headers.insert(name.clone(), value.clone());
                }
            }
        }
        self.inner.request(request).await
    }
}
