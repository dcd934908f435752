//! `tollgate keys …`: virtual keys through the control plane's AdminService.

use crate::admin::{Client, Connection, string_list};
use crate::table::{
    json_rows, models_cell, or_dash, print_deleted, print_json, print_line, print_table,
};
use serde_json::Value;
use tollgate_proto::json::key_json;
use tollgate_proto::v1::{
    DeleteKeysRequest, GenerateKeyRequest, Key, KeyRef, KeySpec, ListKeysRequest,
    RegenerateKeyRequest, SetKeyBlockedRequest, UpdateKeyRequest,
};

#[derive(clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Create a key; prints the key once.
    Create(SpecArgs),
    /// List keys, newest first: by page number, or by cursor (`--after` /
    /// `--before` a cursor that an earlier list printed), whose cost does not
    /// grow with how deep the page is.
    List {
        #[arg(long, default_value_t = 1, conflicts_with_all = ["after", "before"])]
        page: u32,
        #[arg(long, default_value_t = 50)]
        size: u32,
        /// The page after this cursor (a list's `next_after`).
        #[arg(long, conflicts_with = "before")]
        after: Option<String>,
        /// The page before this cursor (a list's `prev_before`).
        #[arg(long)]
        before: Option<String>,
        /// Include deleted keys.
        #[arg(long)]
        deleted: bool,
    },
    /// Show one key (by key or SHA-256 token).
    Info { key: String },
    /// Change a key's settings.
    Update {
        key: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Delete keys; they stop working on every data plane.
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Block a key without deleting it.
    Block { key: String },
    /// Unblock a key.
    Unblock { key: String },
    /// Replace a key with a new one with the same settings.
    Regenerate { key: String },
}

#[derive(clap::Args)]
struct SpecArgs {
    /// Unique alias.
    #[arg(long)]
    alias: Option<String>,
    /// Allowed models, comma-separated; empty = all.
    #[arg(long, value_delimiter = ',')]
    models: Option<Vec<String>>,
    /// Budget in USD.
    #[arg(long)]
    max_budget: Option<f64>,
    /// Expiry from now: 30s, 30m, 30h, 30d, 1mo.
    #[arg(long)]
    duration: Option<String>,
    #[arg(long)]
    rpm_limit: Option<i64>,
    #[arg(long)]
    tpm_limit: Option<i64>,
    #[arg(long)]
    team_id: Option<String>,
    #[arg(long)]
    user_id: Option<String>,
    /// Use this key (sk-…) instead of a generated one (create only).
    #[arg(long)]
    key: Option<String>,
}

impl SpecArgs {
    fn spec(&self) -> KeySpec {
        KeySpec {
            key_alias: self.alias.clone(),
            models: string_list(&self.models),
            max_budget: self.max_budget,
            duration: self.duration.clone(),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            team_id: self.team_id.clone(),
            user_id: self.user_id.clone(),
            ..KeySpec::default()
        }
    }
}

fn show(connection: &Connection, key: Option<&Key>, plaintext: Option<&str>) {
    let Some(key) = key else { return };
    if connection.json {
        let mut json = key_json(key);
        if let Some(p) = plaintext {
            json.insert("key".into(), Value::String(p.to_string()));
        }
        print_json(&Value::Object(json));
        return;
    }
    if let Some(p) = plaintext {
        print_line(&format!("key:     {p}   (shown once; store it now)"));
    }
    print_line(&format!("token:   {}", key.token));
    print_line(&format!(
        "alias:   {}",
        key.key_alias.as_deref().unwrap_or("-")
    ));
    print_line(&format!(
        "models:  {}",
        if key.models.is_empty() {
            "all".to_string()
        } else {
            key.models.join(", ")
        }
    ));
    print_line(&format!(
        "expires: {}",
        key.expires.as_deref().unwrap_or("never")
    ));
    print_line(&format!(
        "blocked: {}   status: {}   spend: ${:.6}",
        key.blocked, key.status, key.spend
    ));
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    let c = args.connection;
    let mut client = c.client().await?;
    let key_ref = |key: &str| {
        Some(KeyRef {
            key: key.to_string(),
        })
    };
    match args.command {
        KeysCommand::Create(spec) => {
            let request = GenerateKeyRequest {
                spec: Some(spec.spec()),
                key: spec.key.clone().unwrap_or_default(),
            };
            let r = c.call(&mut client, request, Client::generate_key).await?;
            show(&c, r.key.as_ref(), Some(&r.plaintext_key));
        }
        KeysCommand::List {
            page,
            size,
            after,
            before,
            deleted,
        } => {
            let by_cursor = after.is_some() || before.is_some();
            let request = ListKeysRequest {
                page,
                size,
                include_deleted: deleted,
                after: after.unwrap_or_default(),
                before: before.unwrap_or_default(),
                ..ListKeysRequest::default()
            };
            let r = c.call(&mut client, request, Client::list_keys).await?;
            if c.json {
                print_json(&serde_json::json!({
                    "keys": json_rows(&r.keys, key_json),
                    "total_count": r.total_count, "current_page": r.current_page, "total_pages": r.total_pages,
                    "next_after": r.next_after, "prev_before": r.prev_before,
                }));
            } else {
                print_table(
                    &["TOKEN", "NAME", "ALIAS", "MODELS", "EXPIRES", "STATUS"],
                    r.keys
                        .iter()
                        .map(|k| {
                            vec![
                                k.token.chars().take(12).collect(),
                                k.key_name.clone(),
                                or_dash(k.key_alias.as_deref()),
                                models_cell(&k.models),
                                k.expires.clone().unwrap_or_else(|| "never".into()),
                                if k.blocked {
                                    "blocked".into()
                                } else {
                                    k.status.clone()
                                },
                            ]
                        })
                        .collect(),
                );
                if by_cursor {
                    print_line(&format!("{} key(s)", r.total_count));
                } else {
                    print_line(&format!(
                        "{} key(s), page {}/{}",
                        r.total_count,
                        r.current_page,
                        r.total_pages.max(1)
                    ));
                }
                // The cursors of the adjacent pages, as the flags that open them.
                for (flag, cursor) in [("--before", &r.prev_before), ("--after", &r.next_after)] {
                    if !cursor.is_empty() {
                        print_line(&format!("{flag} {cursor}"));
                    }
                }
            }
        }
        KeysCommand::Info { key } => {
            let r = c.call(&mut client, KeyRef { key }, Client::get_key).await?;
            show(&c, r.key.as_ref(), None);
        }
        KeysCommand::Update { key, spec } => {
            let request = UpdateKeyRequest {
                key: key_ref(&key),
                spec: Some(spec.spec()),
            };
            let r = c.call(&mut client, request, Client::update_key).await?;
            show(&c, r.key.as_ref(), None);
        }
        KeysCommand::Delete { keys } => {
            let request = DeleteKeysRequest {
                keys,
                key_aliases: Vec::new(),
            };
            let r = c.call(&mut client, request, Client::delete_keys).await?;
            print_deleted(c.json, &[("keys", "key", &r.deleted_keys)]);
        }
        KeysCommand::Block { key } => set_blocked(&c, &mut client, &key, true).await?,
        KeysCommand::Unblock { key } => set_blocked(&c, &mut client, &key, false).await?,
        KeysCommand::Regenerate { key } => {
            let request = RegenerateKeyRequest {
                key: key_ref(&key),
                new_key: String::new(),
                spec: None,
            };
            let r = c.call(&mut client, request, Client::regenerate_key).await?;
            show(&c, r.key.as_ref(), Some(&r.plaintext_key));
        }
    }
    Ok(())
}

async fn set_blocked(
    c: &Connection,
    client: &mut Client,
    key: &str,
    blocked: bool,
) -> anyhow::Result<()> {
    let request = SetKeyBlockedRequest {
        key: Some(KeyRef {
            key: key.to_string(),
        }),
        blocked,
    };
    let r = c.call(client, request, Client::set_key_blocked).await?;
    show(c, r.key.as_ref(), None);
    Ok(())
}
