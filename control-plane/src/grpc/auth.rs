//! Data planes authenticate with the cluster token as a bearer token.

use crate::master_key::bearer;
use tollgate_shared::keys::KeyHash;
use tonic::{Request, Status};

#[derive(Clone)]
pub struct ClusterAuth {
    /// Hashed so comparison time does not depend on the token's bytes.
    expected: KeyHash,
}

impl ClusterAuth {
    pub fn new(token: &str) -> Self {
        Self {
            expected: KeyHash::of(token),
        }
    }
}

impl tonic::service::Interceptor for ClusterAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        match presented {
            Some(token) if KeyHash::of(token) == self.expected => Ok(request),
            _ => Err(Status::unauthenticated(
                "missing or wrong cluster token: start the data plane with the control plane's --cluster-token",
            )),
        }
    }
}

/// The master key from request metadata, for the admin service.
pub fn presented_bearer<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
}
