//! `tollgate teams …`: teams and their members through the AdminService.

use crate::admin::{Client, Connection, string_list};
use crate::table::{
    budget_cell, json_rows, models_cell, or_dash, print_deleted, print_json, print_line,
    print_table, print_with_keys, status_cell,
};
use serde_json::Value;
use tollgate_proto::org_json::team_json;
use tollgate_proto::v1::{
    AddTeamMemberRequest, CreateTeamRequest, DeleteTeamsRequest, GetTeamRequest, ListTeamsRequest,
    RemoveTeamMemberRequest, Team, TeamMember, TeamSpec, UpdateTeamRequest,
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
            models: string_list(&self.models),
            max_budget: self.max_budget,
            budget_duration: self.budget_duration.clone(),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            max_parallel_requests: self.max_parallel_requests,
            ..TeamSpec::default()
        }
    }
}

/// The team as `--json` or lines for people; nothing when the answer has none.
fn show(c: &Connection, team: Option<&Team>) {
    let Some(team) = team else { return };
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
        budget_cell(team.max_budget, "none"),
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
            let r = c.call(&mut client, request, Client::create_team).await?;
            show(&c, r.team.as_ref());
        }
        TeamsCommand::List => {
            let request = ListTeamsRequest::default();
            let r = c.call(&mut client, request, Client::list_teams).await?;
            if c.json {
                print_json(&json_rows(&r.teams, team_json));
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
                                or_dash(t.team_alias.as_deref()),
                                models_cell(&t.models),
                                t.members.len().to_string(),
                                budget_cell(t.max_budget, "-"),
                                format!("${:.6}", t.spend),
                                status_cell(t.blocked),
                            ]
                        })
                        .collect(),
                );
                print_line(&format!("{} team(s)", r.teams.len()));
            }
        }
        TeamsCommand::Info { team_id } => {
            let request = GetTeamRequest { team_id };
            let r = c.call(&mut client, request, Client::get_team).await?;
            let Some(team) = &r.team else { return Ok(()) };
            print_with_keys(c.json, "team_info", team_json(team), &r.keys, || {
                show(&c, Some(team))
            });
        }
        TeamsCommand::Update { team_id, spec } => {
            update(&c, &mut client, team_id, spec.spec()).await?
        }
        TeamsCommand::Delete { team_ids } => {
            let request = DeleteTeamsRequest { team_ids };
            let r = c.call(&mut client, request, Client::delete_teams).await?;
            print_deleted(
                c.json,
                &[
                    ("teams", "team", &r.deleted_team_ids),
                    ("keys", "key", &r.deleted_keys),
                ],
            );
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
            let r = c
                .call(&mut client, request, Client::add_team_member)
                .await?;
            show(&c, r.team.as_ref());
        }
        TeamsCommand::RemoveMember { team_id, user_id } => {
            let request = RemoveTeamMemberRequest {
                team_id,
                user_id,
                user_email: String::new(),
            };
            let r = c
                .call(&mut client, request, Client::remove_team_member)
                .await?;
            show(&c, r.team.as_ref());
        }
        TeamsCommand::Block { team_id } => update(&c, &mut client, team_id, blocked(true)).await?,
        TeamsCommand::Unblock { team_id } => {
            update(&c, &mut client, team_id, blocked(false)).await?
        }
    }
    Ok(())
}

fn blocked(blocked: bool) -> TeamSpec {
    TeamSpec {
        blocked: Some(blocked),
        ..TeamSpec::default()
    }
}

async fn update(
    c: &Connection,
    client: &mut Client,
    team_id: String,
    spec: TeamSpec,
) -> anyhow::Result<()> {
    let request = UpdateTeamRequest {
        team_id,
        spec: Some(spec),
    };
    let r = c.call(client, request, Client::update_team).await?;
    show(c, r.team.as_ref());
    Ok(())
}
