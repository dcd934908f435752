//! The operator's gRPC API (the keys issue adds the management operations).

use super::auth::presented_bearer;
use crate::state::AppState;
use tollgate_proto::v1::admin_service_server::AdminService as AdminApi;
use tollgate_proto::v1::{DataPlaneStatus, GetStatusRequest, StatusResponse};
use tonic::{Request, Response, Status};

pub struct AdminService {
    state: AppState,
}

impl AdminService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        if self.state.is_master_key(presented_bearer(request)) {
            Ok(())
        } else {
            Err(Status::unauthenticated(
                "admin calls need `authorization: Bearer <master_key>` (general_settings.master_key)",
            ))
        }
    }
}

#[tonic::async_trait]
impl AdminApi for AdminService {
    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        self.authorize(&request)?;
        let view = self.state.status();
        Ok(Response::new(StatusResponse {
            snapshot_version: view.snapshot.as_ref().map_or(0, |s| s.version),
            snapshot_hash: view.snapshot.map(|s| s.content_hash).unwrap_or_default(),
            config_path: view.config.path,
            config_error: view.config.last_error.unwrap_or_default(),
            data_planes: view
                .data_planes
                .into_iter()
                .map(|d| DataPlaneStatus {
                    node_id: d.node_id,
                    connected: d.connected,
                    applied_version: d.applied_version.unwrap_or(0),
                    applied_hash: d.applied_hash.unwrap_or_default(),
                    last_seen: d.last_seen.to_rfc3339(),
                    last_nack_version: d.last_nack_version.unwrap_or(0),
                    last_nack_error: d.last_nack_error.unwrap_or_default(),
                    in_sync: d.in_sync,
                    software_version: d.software_version,
                })
                .collect(),
        }))
    }
}
