//! The operator's gRPC API (the keys issue adds the management operations).

use super::auth::presented_bearer;
use crate::state::AppState;
use tollgate_proto::v1::admin_service_server::AdminService as AdminApi;
use tollgate_proto::v1::{
    DataPlaneStatus, DeleteKeysRequest, DeleteKeysResponse, GenerateKeyRequest, GetStatusRequest,
    KeyRef, KeyResponse, ListKeysRequest, ListKeysResponse, RegenerateKeyRequest,
    SetKeyBlockedRequest, StatusResponse, UpdateKeyRequest,
};
use tollgate_shared::keys::KeyHash;
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

    async fn generate_key(
        &self,
        request: Request<GenerateKeyRequest>,
    ) -> Result<Response<KeyResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.state.keys.generate(request.into_inner()).await?,
        ))
    }

    async fn update_key(
        &self,
        request: Request<UpdateKeyRequest>,
    ) -> Result<Response<KeyResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.state.keys.update(request.into_inner()).await?,
        ))
    }

    async fn get_key(&self, request: Request<KeyRef>) -> Result<Response<KeyResponse>, Status> {
        // A key may read its own info (LiteLLM's /key/info without admin).
        let own = presented_bearer(&request).is_some_and(|p| {
            let asked = &request.get_ref().key;
            KeyHash::of(p) == KeyHash::of(asked)
                || KeyHash::of(p).to_hex().eq_ignore_ascii_case(asked)
        });
        if !own {
            self.authorize(&request)?;
        }
        Ok(Response::new(
            self.state.keys.get(&request.into_inner().key).await?,
        ))
    }

    async fn list_keys(
        &self,
        request: Request<ListKeysRequest>,
    ) -> Result<Response<ListKeysResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.state.keys.list(request.into_inner()).await?,
        ))
    }

    async fn delete_keys(
        &self,
        request: Request<DeleteKeysRequest>,
    ) -> Result<Response<DeleteKeysResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.state.keys.delete(request.into_inner()).await?,
        ))
    }

    async fn set_key_blocked(
        &self,
        request: Request<SetKeyBlockedRequest>,
    ) -> Result<Response<KeyResponse>, Status> {
        self.authorize(&request)?;
        let r = request.into_inner();
        let reference = r.key.map(|k| k.key).unwrap_or_default();
        Ok(Response::new(
            self.state.keys.set_blocked(&reference, r.blocked).await?,
        ))
    }

    async fn regenerate_key(
        &self,
        request: Request<RegenerateKeyRequest>,
    ) -> Result<Response<KeyResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.state.keys.regenerate(request.into_inner()).await?,
        ))
    }
}
