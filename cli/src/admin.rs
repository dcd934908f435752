//! Talking to a control plane's AdminService.

use anyhow::Context as _;
use tollgate_proto::v1::admin_service_client::AdminServiceClient;
use tollgate_proto::v1::{GetStatusRequest, StringList};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

#[derive(clap::Args, Clone)]
pub struct Connection {
    /// The control plane's gRPC URL.
    #[arg(
        long,
        env = "TOLLGATE_CONTROL_PLANE",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub control_plane: String,
    /// The master key (general_settings.master_key).
    #[arg(
        long,
        env = "LITELLM_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// CA certificate (PEM) for a TLS control plane.
    #[arg(long, env = "TOLLGATE_TLS_CA", global = true)]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

pub type Client = AdminServiceClient<Channel>;

impl Connection {
    pub async fn client(&self) -> anyhow::Result<Client> {
        Ok(AdminServiceClient::new(self.channel().await?))
    }

    /// A channel to the control plane (TLS with --tls-ca), for any of its
    /// services.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        tollgate_shared::tls::install_crypto_provider();
        let mut endpoint =
            Endpoint::from_shared(self.control_plane.clone()).with_context(|| {
                format!(
                    "`{}` is not a valid URL for --control-plane",
                    self.control_plane
                )
            })?;
        if let Some(ca) = &self.tls_ca {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        endpoint.connect().await.with_context(|| {
            format!(
                "cannot reach the control plane at {}; is it running? (set --control-plane or TOLLGATE_CONTROL_PLANE)",
                self.control_plane
            )
        })
    }

    /// Wraps a message with the master key.
    pub fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        let key = self
            .master_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .context(
                "admin commands need the master key: pass --master-key or set LITELLM_MASTER_KEY",
            )?;
        let mut value: MetadataValue<_> = format!("Bearer {key}")
            .parse()
            .context("the master key contains characters not allowed in a header")?;
        value.set_sensitive(true);
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    /// Calls the control plane with the master key, e.g.
    /// `c.call(&mut client, request, Client::get_team)`; its errors say what
    /// to do ([`explain`]).
    pub async fn call<C, T, R>(
        &self,
        client: &mut C,
        message: T,
        method: impl AsyncFnOnce(&mut C, tonic::Request<T>) -> Result<tonic::Response<R>, tonic::Status>,
    ) -> anyhow::Result<R> {
        let request = self.request(message)?;
        let response = method(client, request).await.map_err(explain)?;
        warn_if_partly_applied(response.metadata());
        Ok(response.into_inner())
    }
}

/// A write answered before every connected data plane applied it (one is
/// frozen or partitioned): say so on stderr, where scripts' logs keep it,
/// without changing the output a script parses.
fn warn_if_partly_applied(metadata: &tonic::metadata::MetadataMap) {
    let Some(applied) = metadata
        .get("x-tollgate-applied")
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    if let Some((done, of)) = applied.split_once('/')
        && done != of
    {
        eprintln!(
            "warning: applied on {done} of {of} connected data planes; `tollgate status` names the ones that lag (they serve their last snapshot until they catch up)"
        );
    }
}

/// A comma-separated list as given (`--models a,b`), without empty items.
pub fn string_list(values: &Option<Vec<String>>) -> Option<StringList> {
    values.clone().map(|values| StringList {
        values: values.into_iter().filter(|v| !v.is_empty()).collect(),
    })
}

/// A gRPC error as a sentence that says what to do.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    use tonic::Code;
    let hint = match status.code() {
        Code::Unauthenticated => " (check --master-key / LITELLM_MASTER_KEY)",
        Code::Unavailable => " (is the control plane running? check --control-plane)",
        _ => "",
    };
    anyhow::anyhow!("{}{hint}", status.message())
}

pub async fn status(connection: Connection) -> anyhow::Result<()> {
    let mut client = connection.client().await?;
    let s = connection
        .call(&mut client, GetStatusRequest {}, Client::get_status)
        .await?;
    if connection.json {
        let planes: Vec<_> = s
            .data_planes
            .iter()
            .map(|d| {
                serde_json::json!({
                    "node_id": d.node_id, "connected": d.connected, "applied_version": d.applied_version,
                    "in_sync": d.in_sync, "last_seen": d.last_seen, "last_nack_error": d.last_nack_error,
                })
            })
            .collect();
        crate::table::print_json(&serde_json::json!({
            "snapshot_version": s.snapshot_version, "snapshot_hash": s.snapshot_hash,
            "config_path": s.config_path, "config_error": s.config_error, "data_planes": planes,
        }));
        return Ok(());
    }
    crate::table::print_line(&format!(
        "snapshot v{} ({})",
        s.snapshot_version, s.snapshot_hash
    ));
    if !s.config_error.is_empty() {
        crate::table::print_line(&format!("config error: {}", s.config_error));
    }
    crate::table::print_table(
        &["NODE", "CONNECTED", "APPLIED", "IN SYNC", "LAST SEEN"],
        s.data_planes
            .iter()
            .map(|d| {
                vec![
                    d.node_id.clone(),
                    d.connected.to_string(),
                    d.applied_version.to_string(),
                    d.in_sync.to_string(),
                    d.last_seen.clone(),
                ]
            })
            .collect(),
    );
    Ok(())
}
