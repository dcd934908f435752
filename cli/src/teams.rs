//! `tollgate teams …`: teams and their members through the AdminService.

use crate::admin::{Connection, explain};
use crate::table::{print_json, print_line, print_table};
use serde_json::{Value, json};
use tollgate_proto::json::key_json;
use tollgate_proto::org_json::team_json;
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateTeamRequest, DeleteTeamsRequest, GetTeamRequest, ListTeamsRequest,
    RemoveTeamMemberRequest, StringList, Team, TeamMember, TeamSpec, UpdateTeamRequest,
};

#[derive(clap::Args)]
pub struct TeamsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: TeamsCommand,
}

#[derive(clap::Subcommand)]
enum TeamsCommand {
    /// Create a team.
    Create {
        /// The team's id; generated when omitted.
        #[arg(long)]
        team_id: Option<String>,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// List teams.
    List,
    /// Show a team, its members and its keys.
    Info { team_id: String },
    /// Change a team's settings.
    Update {
        team_id: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Delete teams and their keys; the keys stop working everywhere.
    Delete {
        #[arg(required = true)]
        team_ids: Vec<String>,
    },
    /// Add a member (created as an internal_user if unknown).
    AddMember {
        team_id: String,
        user_id: String,
        /// `admin` or `user`.
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// Remove a member.
    RemoveMember { team_id: String, user_id: String },
    /// Block every key of the team.
    Block { team_id: String },
    /// Unblock the team.
    Unblock { team_id: String },
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
    /// Budget period: 30s, 30m, 30h, 30d, 1mo.
    #[arg(long)]
    budget_duration: Option<String>,
    #[arg(long)]
    rpm_limit: Option<i64>,
    #[arg(long)]
    tpm_limit: Option<i64>,
    #[arg(long)]
    max_parallel_requests: Option<i64>,
}

impl SpecArgs {
    fn spec(&self) -> TeamSpec {
        TeamSpec {
            team_alias: self.alias.clone(),
            models: self.models.clone().map(|values| StringList {
                values: values.into_iter().filter(|m| !m.is_empty()).collect(),
            }),
            max_budget: self.max_budget,
            budget_duration: self.budget_duration.clone(),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            max_parallel_requests: self.max_parallel_requests,
            ..TeamSpec::default()
        }
    }
}

pub fn models_cell(models: &[String]) -> String {
    if models.is_empty() {
        "all".into()
    } else {
        models.join(",")
    }
}

fn show(c: &Connection, team: &Team) {
    if c.json {
        print_json(&Value::Object(team_json(team)));
        return;
    }
    print_line(&format!("team_id: {}", team.team_id));
    print_line(&format!(
        "alias:   {}",
        team.team_alias.as_deref().unwrap_or("-")
    ));
    print_line(&format!("models:  {}", models_cell(&team.models)));
    print_line(&format!(
        "budget:  {}   spend: ${:.6}   blocked: {}",
        team.max_budget
            .map_or_else(|| "none".to_string(), |b| format!("${b}")),
        team.spend,
        team.blocked
    ));
    let members: Vec<String> = team
        .members
        .iter()
        .map(|m| format!("{} ({})", m.user_id, m.role))
        .collect();
    print_line(&format!(
        "members: {}",
        if members.is_empty() {
            "-".to_string()
        } else {
            members.join(", ")
        }
    ));
}

pub async fn run(args: TeamsArgs) -> anyhow::Result<()> {
    let c = args.connection;
    let mut client = c.client().await?;
    match args.command {
        TeamsCommand::Create { team_id, spec } => {
            let request = CreateTeamRequest {
                team_id: team_id.unwrap_or_default(),
                spec: Some(spec.spec()),
                members: Vec::new(),
            };
            let r = client
                .create_team(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(t) = &r.team {
                show(&c, t);
            }
        }
        TeamsCommand::List => {
            let r = client
                .list_teams(c.request(ListTeamsRequest::default())?)
                .await
                .map_err(explain)?
                .into_inner();
            if c.json {
                print_json(&Value::Array(
                    r.teams
                        .iter()
                        .map(|t| Value::Object(team_json(t)))
                        .collect(),
                ));
            } else {
                print_table(
                    &[
                        "TEAM_ID", "ALIAS", "MODELS", "MEMBERS", "BUDGET", "SPEND", "STATUS",
                    ],
                    r.teams
                        .iter()
                        .map(|t| {
                            vec![
                                t.team_id.clone(),
                                t.team_alias.clone().unwrap_or_else(|| "-".into()),
                                models_cell(&t.models),
                                t.members.len().to_string(),
                                t.max_budget.map_or_else(|| "-".into(), |b| format!("${b}")),
                                format!("${:.6}", t.spend),
                                if t.blocked { "blocked" } else { "active" }.into(),
                            ]
                        })
                        .collect(),
                );
                print_line(&format!("{} team(s)", r.teams.len()));
            }
        }
        TeamsCommand::Info { team_id } => {
            let r = client
                .get_team(c.request(GetTeamRequest { team_id })?)
                .await
                .map_err(explain)?
                .into_inner();
            let Some(team) = &r.team else { return Ok(()) };
            if c.json {
                print_json(&json!({
                    "team_info": Value::Object(team_json(team)),
                    "keys": r.keys.iter().map(|k| Value::Object(key_json(k))).collect::<Vec<_>>(),
                }));
            } else {
                show(&c, team);
                print_line(&format!("keys:    {}", r.keys.len()));
            }
        }
        TeamsCommand::Update { team_id, spec } => {
            let request = UpdateTeamRequest {
                team_id,
                spec: Some(spec.spec()),
            };
            let r = client
                .update_team(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(t) = &r.team {
                show(&c, t);
            }
        }
        TeamsCommand::Delete { team_ids } => {
            let r = client
                .delete_teams(c.request(DeleteTeamsRequest { team_ids })?)
                .await
                .map_err(explain)?
                .into_inner();
            if c.json {
                print_json(
                    &json!({"deleted_teams": r.deleted_team_ids, "deleted_keys": r.deleted_keys}),
                );
            } else {
                print_line(&format!(
                    "deleted {} team(s) and {} key(s)",
                    r.deleted_team_ids.len(),
                    r.deleted_keys.len()
                ));
            }
        }
        TeamsCommand::AddMember {
            team_id,
            user_id,
            role,
        } => {
            let request = AddTeamMemberRequest {
                team_id,
                members: vec![TeamMember {
                    user_id,
                    user_email: String::new(),
                    role,
                }],
            };
            let r = client
                .add_team_member(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(t) = &r.team {
                show(&c, t);
            }
        }
        TeamsCommand::RemoveMember { team_id, user_id } => {
            let request = RemoveTeamMemberRequest {
                team_id,
                user_id,
                user_email: String::new(),
            };
            let r = client
                .remove_team_member(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(t) = &r.team {
                show(&c, t);
            }
        }
        TeamsCommand::Block { team_id } => set_blocked(&c, &mut client, team_id, true).await?,
        TeamsCommand::Unblock { team_id } => set_blocked(&c, &mut client, team_id, false).await?,
    }
    Ok(())
}

async fn set_blocked(
    c: &Connection,
    client: &mut crate::admin::Client,
    team_id: String,
    blocked: bool,
) -> anyhow::Result<()> {
    let request = UpdateTeamRequest {
        team_id,
        spec: Some(TeamSpec {
            blocked: Some(blocked),
            ..TeamSpec::default()
        }),
    };
    let r = client
        .update_team(c.request(request)?)
        .await
        .map_err(explain)?
        .into_inner();
    if let Some(t) = &r.team {
        show(c, t);
    }
    Ok(())
}
