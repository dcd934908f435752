//! SpendService: LiteLLM's spend queries over gRPC, master-key
//! authenticated; a virtual key may read its own spend logs.

use super::auth::presented_bearer;
use crate::spend::SpendQueries;
use crate::state::AppState;
use tollgate_proto::v1::spend_service_server::SpendService as SpendApi;
use tollgate_proto::v1::{
    GlobalSpendRequest, GlobalSpendResponse, KeySpendResponse, ModelSpendResponse,
    SpendLogsRequest, SpendLogsResponse, SpendReportRequest, SpendReportResponse, TeamSpendRequest,
    TeamSpendResponse, TopSpendRequest,
};
use tollgate_shared::keys::KeyHash;
use tonic::{Request, Response, Status};

pub struct SpendService {
    state: AppState,
    queries: SpendQueries,
}

impl SpendService {
    pub fn new(state: AppState) -> Self {
        let queries = SpendQueries::new(state.spend_logs.clone());
        Self { state, queries }
    }

    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let presented = presented_bearer(request);
        if self.state.is_master_key(presented) {
            return Ok(());
        }
        Err(match presented {
            None => Status::unauthenticated(
                "spend queries need `authorization: Bearer <master_key>` (general_settings.master_key)",
            ),
            Some(_) => Status::permission_denied(
                "Only the master key (proxy_admin) may read global spend; a virtual key may read its own /spend/logs only.",
            ),
        })
    }

    fn max_budget(&self) -> f64 {
        self.state
            .current()
            .and_then(|p| p.max_budget)
            .unwrap_or(0.0)
    }
}

#[tonic::async_trait]
impl SpendApi for SpendService {
    async fn get_spend_logs(
        &self,
        request: Request<SpendLogsRequest>,
    ) -> Result<Response<SpendLogsResponse>, Status> {
        let own_key = match self.authorize(&request) {
            Ok(()) => None,
            Err(denied) => {
                // A key that exists may read its own logs (LiteLLM scopes
                // non-admins to themselves).
                let Some(presented) = presented_bearer(&request) else {
                    return Err(denied);
                };
                let hash = KeyHash::of(presented).to_hex();
                if self.state.keys.get(&hash).await.is_err() {
                    return Err(Status::unauthenticated(
                        "unknown key: pass the master key or a valid virtual key",
                    ));
                }
                Some(hash)
            }
        };
        Ok(Response::new(
            self.queries.logs(request.into_inner(), own_key).await?,
        ))
    }

    async fn get_global_spend(
        &self,
        request: Request<GlobalSpendRequest>,
    ) -> Result<Response<GlobalSpendResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(self.queries.global(self.max_budget()).await?))
    }

    async fn get_spend_by_model(
        &self,
        request: Request<TopSpendRequest>,
    ) -> Result<Response<ModelSpendResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.queries.models(request.into_inner().limit).await?,
        ))
    }

    async fn get_spend_by_key(
        &self,
        request: Request<TopSpendRequest>,
    ) -> Result<Response<KeySpendResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.queries.keys(request.into_inner().limit).await?,
        ))
    }

    async fn get_spend_by_team(
        &self,
        request: Request<TeamSpendRequest>,
    ) -> Result<Response<TeamSpendResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(self.queries.teams().await?))
    }

    async fn get_spend_report(
        &self,
        request: Request<SpendReportRequest>,
    ) -> Result<Response<SpendReportResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(
            self.queries.report(request.into_inner()).await?,
        ))
    }
}
