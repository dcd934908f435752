//! `tollgate users …`: internal users through the AdminService.

use crate::admin::{Client, Connection, string_list};
use crate::table::{
    json_rows, models_cell, or_dash, print_deleted, print_json, print_line, print_table,
    print_with_keys,
};
use serde_json::{Value, json};
use tollgate_proto::org_json::user_json;
use tollgate_proto::v1::{
    CreateUserRequest, DeleteUsersRequest, GetUserRequest, ListUsersRequest, UpdateUserRequest,
    User, UserSpec,
};

#[derive(clap::Args)]
pub struct UsersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(clap::Subcommand)]
enum UsersCommand {
    /// Create a user (no key unless --with-key).
    Create {
        /// The user's id; generated when omitted.
        #[arg(long)]
        user_id: Option<String>,
        /// Teams to join, comma-separated.
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
        /// Also create a key for the user (printed once).
        #[arg(long)]
        with_key: bool,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// List users.
    List {
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        size: u32,
    },
    /// Show a user and their keys.
    Info { user_id: String },
    /// Change a user's settings.
    Update {
        user_id: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Delete users and their keys.
    Delete {
        #[arg(required = true)]
        user_ids: Vec<String>,
    },
}

#[derive(clap::Args)]
struct SpecArgs {
    #[arg(long)]
    email: Option<String>,
    /// proxy_admin, proxy_admin_viewer, internal_user, internal_user_viewer.
    #[arg(long)]
    role: Option<String>,
    /// Allowed models, comma-separated; empty = all.
    #[arg(long, value_delimiter = ',')]
    models: Option<Vec<String>>,
    /// Budget in USD.
    #[arg(long)]
    max_budget: Option<f64>,
    /// Budget period: 30s, 30m, 30h, 30d, 1mo.
    #[arg(long)]
    budget_duration: Option<String>,
    #[arg(long)]
    rpm_limit: Option<i64>,
    #[arg(long)]
    tpm_limit: Option<i64>,
}

impl SpecArgs {
    fn spec(&self) -> UserSpec {
        UserSpec {
            user_email: self.email.clone(),
            user_role: self.role.clone(),
            models: string_list(&self.models),
            max_budget: self.max_budget,
            budget_duration: self.budget_duration.clone(),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            ..UserSpec::default()
        }
    }
}

fn show(c: &Connection, user: &User) {
    if c.json {
        print_json(&Value::Object(user_json(user)));
        return;
    }
    print_line(&format!("user_id: {}", user.user_id));
    print_line(&format!(
        "email:   {}",
        user.user_email.as_deref().unwrap_or("-")
    ));
    print_line(&format!("role:    {}", user.user_role));
    print_line(&format!("models:  {}", models_cell(&user.models)));
    print_line(&format!(
        "teams:   {}",
        if user.teams.is_empty() {
            "-".to_string()
        } else {
            user.teams.join(", ")
        }
    ));
    print_line(&format!("spend:   ${:.6}", user.spend));
}

pub async fn run(args: UsersArgs) -> anyhow::Result<()> {
    let c = args.connection;
    let mut client = c.client().await?;
    match args.command {
        UsersCommand::Create {
            user_id,
            teams,
            with_key,
            spec,
        } => {
            let request = CreateUserRequest {
                user_id: user_id.unwrap_or_default(),
                spec: Some(spec.spec()),
                teams: teams.into_iter().filter(|t| !t.is_empty()).collect(),
                auto_create_key: with_key,
                key_spec: None,
            };
            let r = c.call(&mut client, request, Client::create_user).await?;
            let Some(user) = &r.user else { return Ok(()) };
            if c.json {
                let mut out = user_json(user);
                if r.key.is_some() {
                    out.insert("key".into(), Value::String(r.plaintext_key.clone()));
                }
                print_json(&Value::Object(out));
            } else {
                show(&c, user);
                if r.key.is_some() {
                    print_line(&format!(
                        "key:     {}   (shown once; store it now)",
                        r.plaintext_key
                    ));
                }
            }
        }
        UsersCommand::List { page, size } => {
            let request = ListUsersRequest {
                page,
                page_size: size,
                role: String::new(),
            };
            let r = c.call(&mut client, request, Client::list_users).await?;
            if c.json {
                print_json(&json!({
                    "users": json_rows(&r.users, user_json),
                    "total": r.total, "page": r.page, "page_size": r.page_size, "total_pages": r.total_pages,
                }));
            } else {
                print_table(
                    &["USER_ID", "EMAIL", "ROLE", "MODELS", "TEAMS", "SPEND"],
                    r.users
                        .iter()
                        .map(|u| {
                            vec![
                                u.user_id.clone(),
                                or_dash(u.user_email.as_deref()),
                                u.user_role.clone(),
                                models_cell(&u.models),
                                u.teams.len().to_string(),
                                format!("${:.6}", u.spend),
                            ]
                        })
                        .collect(),
                );
                print_line(&format!(
                    "{} user(s), page {}/{}",
                    r.total,
                    r.page,
                    r.total_pages.max(1)
                ));
            }
        }
        UsersCommand::Info { user_id } => {
            let request = GetUserRequest { user_id };
            let r = c.call(&mut client, request, Client::get_user).await?;
            let Some(user) = &r.user else { return Ok(()) };
            print_with_keys(c.json, "user_info", user_json(user), &r.keys, || {
                show(&c, user)
            });
        }
        UsersCommand::Update { user_id, spec } => {
            let request = UpdateUserRequest {
                user_id,
                spec: Some(spec.spec()),
            };
            let r = c.call(&mut client, request, Client::update_user).await?;
            if let Some(u) = &r.user {
                show(&c, u);
            }
        }
        UsersCommand::Delete { user_ids } => {
            let request = DeleteUsersRequest { user_ids };
            let r = c.call(&mut client, request, Client::delete_users).await?;
            print_deleted(
                c.json,
                &[
                    ("users", "user", &r.deleted_user_ids),
                    ("keys", "key", &r.deleted_keys),
                ],
            );
        }
    }
    Ok(())
}
