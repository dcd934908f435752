//! The operator's gRPC API: status, keys, teams, users and customers, each
//! call authorized by `admin_access` from the caller's bearer key.

use super::admin_access::{Principal, denied, is_team_admin, is_team_member, principal};
use crate::state::AppState;
use tollgate_proto::v1::admin_service_server::AdminService as AdminApi;
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateCustomerRequest, CreateTeamRequest, CreateUserRequest,
    CustomerResponse, DataPlaneStatus, DeleteCustomersRequest, DeleteCustomersResponse,
    DeleteKeysRequest, DeleteKeysResponse, DeleteTeamsRequest, DeleteTeamsResponse,
    DeleteUsersRequest, DeleteUsersResponse, GenerateKeyRequest, GetCustomerRequest,
    GetStatusRequest, GetTeamRequest, GetUserRequest, Key, KeyRef, KeyResponse, KeySpec,
    ListCustomersRequest, ListCustomersResponse, ListKeysRequest, ListKeysResponse,
    ListTeamsRequest, ListTeamsResponse, ListUsersRequest, ListUsersResponse, RegenerateKeyRequest,
    RemoveTeamMemberRequest, SetCustomerBlockedRequest, SetKeyBlockedRequest, StatusResponse,
    TeamResponse, UpdateCustomerRequest, UpdateKeyRequest, UpdateTeamRequest, UpdateUserRequest,
    UserResponse,
};
use tonic::{Request, Response, Status};
use tracing::warn;

type Answer<T> = Result<Response<T>, Status>;

/// Response metadata of every management write: how many connected data
/// planes applied it when it answered (`2/3`), and the version carrying it.
pub const APPLIED_HEADER: &str = "x-tollgate-applied";
pub const VERSION_HEADER: &str = "x-tollgate-snapshot-version";

/// A write's answer names the snapshot version that carries it (0: the
/// write changed nothing a data plane enforces).
trait Versioned {
    fn snapshot_version(&self) -> u64;
}

macro_rules! versioned {
    ($($t:ty),* $(,)?) => {$(
        impl Versioned for $t {
            fn snapshot_version(&self) -> u64 {
                self.snapshot_version
            }
        }
    )*};
}

versioned!(
    KeyResponse,
    DeleteKeysResponse,
    TeamResponse,
    DeleteTeamsResponse,
    UserResponse,
    DeleteUsersResponse,
    CustomerResponse,
    DeleteCustomersResponse,
    ListCustomersResponse,
);

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

pub struct AdminService {
    state: AppState,
}

impl AdminService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Answers a management write once every connected data plane serves
    /// it (read-your-writes on whichever replica is asked next), or after
    /// `apply_wait`; `x-tollgate-applied: n/m` says how many did.
    async fn applied<T: Versioned>(&self, message: T) -> Answer<T> {
        let version = message.snapshot_version();
        let mut response = Response::new(message);
        if version == 0 {
            return Ok(response);
        }
        let fleet = self
            .state
            .registry
            .wait_applied(version, self.state.apply_wait)
            .await;
        if !fleet.laggards.is_empty() {
            warn!(
                version,
                laggards = ?fleet.laggards,
                "a management write answered before every data plane applied it"
            );
        }
        if let Ok(value) = fleet.header_value().parse() {
            response.metadata_mut().insert(APPLIED_HEADER, value);
        }
        if let Ok(value) = version.to_string().parse() {
            response.metadata_mut().insert(VERSION_HEADER, value);
        }
        Ok(response)
    }

    async fn who<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        principal(&self.state, request).await
    }

    /// A key may reference only a team and a user that exist (LiteLLM: 400).
    async fn check_references(&self, spec: &KeySpec) -> Result<(), Status> {
        if let Some(team) = non_empty(&spec.team_id)
            && !self.state.teams.exists(team).await?
        {
            return Err(Status::invalid_argument(format!(
                "team_id: team {team} does not exist; create it with /team/new first"
            )));
        }
        if let Some(user) = non_empty(&spec.user_id)
            && self.state.users.find(user).await?.is_none()
        {
            return Err(Status::invalid_argument(format!(
                "user_id: user {user} does not exist; create it with /user/new first"
            )));
        }
        Ok(())
    }

    async fn key(&self, reference: &str) -> Result<Key, Status> {
        self.state
            .keys
            .get(reference)
            .await?
            .key
            .ok_or_else(|| Status::not_found("key not found"))
    }

    /// Changing a key: admins, or an admin of the key's team.
    async fn may_manage_key(&self, who: &Principal, key: &Key) -> Result<(), Status> {
        if matches!(who, Principal::Admin) {
            return Ok(());
        }
        if let (
            Principal::Key {
                read_only: false, ..
            },
            Some(team),
        ) = (who, key.team_id.as_deref())
            && is_team_admin(&self.state, who, team).await?
        {
            return Ok(());
        }
        Err(denied(
            "Only proxy admins, or an admin of the key's team, may change this key.",
        ))
    }

    /// Reading a key: readers, the key itself, its user, its team's admins.
    async fn may_read_key(&self, who: &Principal, key: &Key) -> Result<(), Status> {
        if who.reads_everything() {
            return Ok(());
        }
        if let Principal::Key { token, user_id, .. } = who {
            if *token == key.token || (user_id.is_some() && *user_id == key.user_id) {
                return Ok(());
            }
            if let Some(team) = key.team_id.as_deref()
                && is_team_admin(&self.state, who, team).await?
            {
                return Ok(());
            }
        }
        Err(denied(
            "A virtual key may only read its own keys; use the master key for others.",
        ))
    }

    async fn may_manage_team(&self, who: &Principal, team_id: &str) -> Result<(), Status> {
        if matches!(who, Principal::Admin)
            || (matches!(
                who,
                Principal::Key {
                    read_only: false,
                    ..
                }
            ) && is_team_admin(&self.state, who, team_id).await?)
        {
            Ok(())
        } else {
            Err(denied(format!(
                "Only proxy admins, or an admin of team {team_id}, may manage its members."
            )))
        }
    }
}

#[tonic::async_trait]
impl AdminApi for AdminService {
    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        self.who(&request)
            .await?
            .require_reader("read the status")?;
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

    async fn generate_key(&self, request: Request<GenerateKeyRequest>) -> Answer<KeyResponse> {
        let who = self.who(&request).await?;
        let mut r = request.into_inner();
        let spec = r.spec.get_or_insert_default();
        self.check_references(spec).await?;
        match &who {
            Principal::Admin => {}
            Principal::Key {
                user_id: Some(own),
                read_only: false,
                ..
            } => {
                let for_team_as_admin = match non_empty(&spec.team_id) {
                    Some(team) => is_team_admin(&self.state, &who, team).await?,
                    None => false,
                };
                if non_empty(&spec.team_id).is_some() && !for_team_as_admin {
                    return Err(denied(
                        "Only proxy admins, or an admin of that team, may create keys for a team.",
                    ));
                }
                match non_empty(&spec.user_id) {
                    Some(other) if other != own && !for_team_as_admin => {
                        return Err(denied(
                            "An internal_user may only create keys for itself (user_id must be its own).",
                        ));
                    }
                    Some(_) => {}
                    None => spec.user_id = Some(own.clone()),
                }
            }
            _ => {
                return Err(denied(
                    "Only proxy admins and internal users may create keys; this key's user may not.",
                ));
            }
        }
        self.applied(self.state.keys.generate(r).await?).await
    }

    async fn update_key(&self, request: Request<UpdateKeyRequest>) -> Answer<KeyResponse> {
        let who = self.who(&request).await?;
        let r = request.into_inner();
        let reference = r.key.as_ref().map(|k| k.key.clone()).unwrap_or_default();
        if reference.is_empty() {
            return Err(Status::invalid_argument("key: is required"));
        }
        let key = self.key(&reference).await?;
        self.may_manage_key(&who, &key).await?;
        let spec = r.spec.clone().unwrap_or_default();
        self.check_references(&spec).await?;
        if let Some(team) = non_empty(&spec.team_id)
            && !matches!(who, Principal::Admin)
            && !is_team_admin(&self.state, &who, team).await?
        {
            return Err(denied(
                "Only proxy admins may move a key to a team you do not administer.",
            ));
        }
        self.applied(self.state.keys.update(r).await?).await
    }

    async fn get_key(&self, request: Request<KeyRef>) -> Answer<KeyResponse> {
        let who = self.who(&request).await?;
        let reference = request.into_inner().key;
        let response = self.state.keys.get(&reference).await?;
        if let Some(key) = &response.key {
            self.may_read_key(&who, key).await?;
        }
        Ok(Response::new(response))
    }

    async fn list_keys(&self, request: Request<ListKeysRequest>) -> Answer<ListKeysResponse> {
        let who = self.who(&request).await?;
        let mut r = request.into_inner();
        if !who.reads_everything() {
            let team_admin =
                !r.team_id.is_empty() && is_team_admin(&self.state, &who, &r.team_id).await?;
            match who.user_id() {
                _ if team_admin => {}
                Some(own) if r.user_id.is_empty() || r.user_id == own => {
                    r.user_id = own.to_string()
                }
                Some(_) => return Err(denied("An internal user may only list its own keys.")),
                None => {
                    return Err(denied(
                        "Only proxy admins and internal users may list keys.",
                    ));
                }
            }
        }
        Ok(Response::new(self.state.keys.list(r).await?))
    }

    async fn delete_keys(&self, request: Request<DeleteKeysRequest>) -> Answer<DeleteKeysResponse> {
        let who = self.who(&request).await?;
        let r = request.into_inner();
        if !matches!(who, Principal::Admin) {
            for reference in &r.keys {
                let key = self.key(reference).await?;
                self.may_manage_key(&who, &key).await?;
            }
            for alias in &r.key_aliases {
                let listed = self
                    .state
                    .keys
                    .list(ListKeysRequest {
                        key_alias: alias.clone(),
                        ..ListKeysRequest::default()
                    })
                    .await?;
                for key in &listed.keys {
                    self.may_manage_key(&who, key).await?;
                }
            }
        }
        self.applied(self.state.keys.delete(r).await?).await
    }

    async fn set_key_blocked(&self, request: Request<SetKeyBlockedRequest>) -> Answer<KeyResponse> {
        let who = self.who(&request).await?;
        let r = request.into_inner();
        let reference = r.key.map(|k| k.key).unwrap_or_default();
        let key = self.key(&reference).await?;
        self.may_manage_key(&who, &key).await?;
        self.applied(self.state.keys.set_blocked(&reference, r.blocked).await?)
            .await
    }

    async fn regenerate_key(&self, request: Request<RegenerateKeyRequest>) -> Answer<KeyResponse> {
        let who = self.who(&request).await?;
        let r = request.into_inner();
        let reference = r.key.as_ref().map(|k| k.key.clone()).unwrap_or_default();
        let key = self.key(&reference).await?;
        self.may_manage_key(&who, &key).await?;
        if let Some(spec) = &r.spec {
            self.check_references(spec).await?;
        }
        self.applied(self.state.keys.regenerate(r).await?).await
    }

    async fn create_team(&self, request: Request<CreateTeamRequest>) -> Answer<TeamResponse> {
        self.who(&request).await?.require_admin("create teams")?;
        self.applied(self.state.teams.create(request.into_inner()).await?)
            .await
    }

    async fn update_team(&self, request: Request<UpdateTeamRequest>) -> Answer<TeamResponse> {
        self.who(&request).await?.require_admin("change teams")?;
        self.applied(self.state.teams.update(request.into_inner()).await?)
            .await
    }

    async fn delete_teams(
        &self,
        request: Request<DeleteTeamsRequest>,
    ) -> Answer<DeleteTeamsResponse> {
        self.who(&request).await?.require_admin("delete teams")?;
        self.applied(self.state.teams.delete(request.into_inner()).await?)
            .await
    }

    async fn get_team(&self, request: Request<GetTeamRequest>) -> Answer<TeamResponse> {
        let who = self.who(&request).await?;
        let team_id = request.into_inner().team_id;
        if !who.reads_everything() && !is_team_member(&self.state, &who, &team_id).await? {
            return Err(denied(format!(
                "Only proxy admins and members of team {team_id} may read it."
            )));
        }
        Ok(Response::new(self.state.teams.get(&team_id).await?))
    }

    async fn list_teams(&self, request: Request<ListTeamsRequest>) -> Answer<ListTeamsResponse> {
        let who = self.who(&request).await?;
        let mut r = request.into_inner();
        if !who.reads_everything() {
            match who.user_id() {
                Some(own) if r.user_id.is_empty() || r.user_id == own => {
                    r.user_id = own.to_string()
                }
                _ => return Err(denied("A virtual key may only list its own user's teams.")),
            }
        }
        Ok(Response::new(self.state.teams.list(r).await?))
    }

    async fn add_team_member(
        &self,
        request: Request<AddTeamMemberRequest>,
    ) -> Answer<TeamResponse> {
        let who = self.who(&request).await?;
        self.may_manage_team(&who, &request.get_ref().team_id)
            .await?;
        self.applied(self.state.teams.add_members(request.into_inner()).await?)
            .await
    }

    async fn remove_team_member(
        &self,
        request: Request<RemoveTeamMemberRequest>,
    ) -> Answer<TeamResponse> {
        let who = self.who(&request).await?;
        self.may_manage_team(&who, &request.get_ref().team_id)
            .await?;
        self.applied(self.state.teams.remove_member(request.into_inner()).await?)
            .await
    }

    async fn create_user(&self, request: Request<CreateUserRequest>) -> Answer<UserResponse> {
        self.who(&request).await?.require_admin("create users")?;
        let r = request.into_inner();
        // The auto-created key's team must exist; its user is the new one.
        if let Some(spec) = &r.key_spec
            && non_empty(&spec.team_id).is_some()
        {
            self.check_references(&KeySpec {
                team_id: spec.team_id.clone(),
                ..KeySpec::default()
            })
            .await?;
        }
        self.applied(self.state.users.create(r).await?).await
    }

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Answer<UserResponse> {
        self.who(&request).await?.require_admin("change users")?;
        self.applied(self.state.users.update(request.into_inner()).await?)
            .await
    }

    async fn delete_users(
        &self,
        request: Request<DeleteUsersRequest>,
    ) -> Answer<DeleteUsersResponse> {
        self.who(&request).await?.require_admin("delete users")?;
        self.applied(self.state.users.delete(request.into_inner()).await?)
            .await
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Answer<UserResponse> {
        let who = self.who(&request).await?;
        let user_id = request.into_inner().user_id;
        if !who.reads_everything() && who.user_id() != Some(user_id.as_str()) {
            return Err(denied("A virtual key may only read its own user."));
        }
        Ok(Response::new(self.state.users.get(&user_id).await?))
    }

    async fn list_users(&self, request: Request<ListUsersRequest>) -> Answer<ListUsersResponse> {
        self.who(&request).await?.require_reader("list users")?;
        Ok(Response::new(
            self.state.users.list(request.into_inner()).await?,
        ))
    }

    async fn create_customer(
        &self,
        request: Request<CreateCustomerRequest>,
    ) -> Answer<CustomerResponse> {
        self.who(&request)
            .await?
            .require_admin("create customers")?;
        self.applied(self.state.customers.create(request.into_inner()).await?)
            .await
    }

    async fn update_customer(
        &self,
        request: Request<UpdateCustomerRequest>,
    ) -> Answer<CustomerResponse> {
        self.who(&request)
            .await?
            .require_admin("change customers")?;
        self.applied(self.state.customers.update(request.into_inner()).await?)
            .await
    }

    async fn delete_customers(
        &self,
        request: Request<DeleteCustomersRequest>,
    ) -> Answer<DeleteCustomersResponse> {
        self.who(&request)
            .await?
            .require_admin("delete customers")?;
        self.applied(self.state.customers.delete(request.into_inner()).await?)
            .await
    }

    async fn get_customer(&self, request: Request<GetCustomerRequest>) -> Answer<CustomerResponse> {
        self.who(&request).await?.require_reader("read customers")?;
        Ok(Response::new(
            self.state
                .customers
                .get(&request.into_inner().user_id)
                .await?,
        ))
    }

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Answer<ListCustomersResponse> {
        self.who(&request).await?.require_reader("list customers")?;
        Ok(Response::new(self.state.customers.list().await?))
    }

    async fn set_customer_blocked(
        &self,
        request: Request<SetCustomerBlockedRequest>,
    ) -> Answer<ListCustomersResponse> {
        self.who(&request)
            .await?
            .require_admin("block or unblock customers")?;
        self.applied(
            self.state
                .customers
                .set_blocked(request.into_inner())
                .await?,
        )
        .await
    }
}
