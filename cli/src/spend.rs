//! `tollgate spend …`: LiteLLM's spend queries through the control plane's
//! SpendService. `--json` prints exactly what the data plane's HTTP routes
//! answer (`tollgate_proto::spend_json`).

use crate::admin::Connection;
use crate::table::{dash_if_empty, print_json, print_line, print_table};
use tollgate_proto::spend_json;
use tollgate_proto::v1::spend_service_client::SpendServiceClient;
use tollgate_proto::v1::{
    GlobalSpendRequest, SpendLogsRequest, SpendReportRequest, TeamSpendRequest, TopSpendRequest,
};
use tonic::transport::Channel;

type Client = SpendServiceClient<Channel>;

#[derive(clap::Args)]
pub struct SpendArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: SpendCommand,
}

#[derive(clap::Subcommand)]
enum SpendCommand {
    /// Spend logs, newest first; with --start-date/--end-date, spend per day.
    Logs {
        /// A key (sk-…) or its SHA-256 token.
        #[arg(long)]
        api_key: Option<String>,
        #[arg(long)]
        user_id: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
        /// YYYY-MM-DD (UTC), inclusive.
        #[arg(long, requires = "end_date")]
        start_date: Option<String>,
        /// YYYY-MM-DD (UTC), inclusive.
        #[arg(long, requires = "start_date")]
        end_date: Option<String>,
        /// With dates: per-day totals (default) or the logs themselves.
        #[arg(long)]
        summarize: Option<bool>,
        /// Most logs shown (default 1000).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Total spend of the last 30 days and the global budget.
    Global,
    /// Model groups by spend (last 30 days).
    Models {
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Keys by spend (last 30 days).
    Keys {
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Teams' spend per day (last 30 days).
    Teams,
    /// Spend per day by team, customer or key.
    Report {
        /// YYYY-MM-DD (UTC), inclusive.
        #[arg(long)]
        start_date: String,
        /// YYYY-MM-DD (UTC), inclusive.
        #[arg(long)]
        end_date: String,
        #[arg(long, default_value = "team", value_parser = ["team", "customer", "api_key"])]
        group_by: String,
    },
}

/// Exact USD from picodollars: no float rounding in what people read.
fn dollars(picos: i64) -> String {
    let sign = if picos < 0 { "-" } else { "" };
    let p = picos.unsigned_abs();
    let whole = p / 1_000_000_000_000;
    let frac = format!("{:012}", p % 1_000_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}${whole}")
    } else {
        format!("{sign}${whole}.{frac}")
    }
}

pub async fn run(args: SpendArgs) -> anyhow::Result<()> {
    let c = args.connection;
    let mut client = Client::new(c.channel().await?);
    match args.command {
        SpendCommand::Logs {
            api_key,
            user_id,
            request_id,
            start_date,
            end_date,
            summarize,
            limit,
        } => {
            let request = SpendLogsRequest {
                api_key: api_key.unwrap_or_default(),
                user_id: user_id.unwrap_or_default(),
                request_id: request_id.unwrap_or_default(),
                start_date: start_date.unwrap_or_default(),
                end_date: end_date.unwrap_or_default(),
                summarize,
                limit: limit.unwrap_or(0),
            };
            let r = c.call(&mut client, request, Client::get_spend_logs).await?;
            if c.json {
                print_json(&spend_json::spend_logs_json(&r));
            } else if r.summarized {
                print_table(
                    &["DAY", "SPEND", "KEYS", "MODELS"],
                    r.days
                        .iter()
                        .map(|d| {
                            let mut models: Vec<_> = d
                                .models
                                .iter()
                                .map(|(m, p)| format!("{m}={}", dollars(*p)))
                                .collect();
                            models.sort();
                            vec![
                                d.day.clone(),
                                dollars(d.spend_picos),
                                d.keys.len().to_string(),
                                models.join(" "),
                            ]
                        })
                        .collect(),
                );
            } else {
                print_table(
                    &[
                        "REQUEST ID",
                        "START",
                        "KEY",
                        "MODEL",
                        "STATUS",
                        "TOKENS",
                        "SPEND",
                    ],
                    r.logs
                        .iter()
                        .map(|l| {
                            vec![
                                l.request_id.clone(),
                                l.start_time.clone(),
                                l.api_key.chars().take(12).collect(),
                                l.model_group.clone(),
                                l.status.clone(),
                                l.total_tokens.to_string(),
                                dollars(l.spend_picos),
                            ]
                        })
                        .collect(),
                );
            }
        }
        SpendCommand::Global => {
            let request = GlobalSpendRequest {};
            let r = c
                .call(&mut client, request, Client::get_global_spend)
                .await?;
            if c.json {
                print_json(&spend_json::global_spend_json(&r));
            } else {
                print_line(&format!("spend (30 days): {}", dollars(r.spend_picos)));
                print_line(&format!(
                    "max_budget:      {}",
                    if r.max_budget > 0.0 {
                        format!("${}", r.max_budget)
                    } else {
                        "none".to_string()
                    }
                ));
            }
        }
        SpendCommand::Models { limit } => {
            let request = TopSpendRequest {
                limit: limit.unwrap_or(0),
            };
            let r = c
                .call(&mut client, request, Client::get_spend_by_model)
                .await?;
            if c.json {
                print_json(&spend_json::models_json(&r));
            } else {
                print_table(
                    &["MODEL", "SPEND", "TOKENS"],
                    r.models
                        .iter()
                        .map(|m| {
                            vec![
                                m.model.clone(),
                                dollars(m.spend_picos),
                                m.total_tokens.to_string(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        SpendCommand::Keys { limit } => {
            let request = TopSpendRequest {
                limit: limit.unwrap_or(0),
            };
            let r = c
                .call(&mut client, request, Client::get_spend_by_key)
                .await?;
            if c.json {
                print_json(&spend_json::keys_json(&r));
            } else {
                print_table(
                    &["TOKEN", "ALIAS", "KEY NAME", "SPEND"],
                    r.keys
                        .iter()
                        .map(|k| {
                            vec![
                                k.api_key.clone(),
                                dash_if_empty(&k.key_alias),
                                k.key_name.clone(),
                                dollars(k.spend_picos),
                            ]
                        })
                        .collect(),
                );
            }
        }
        SpendCommand::Teams => {
            let request = TeamSpendRequest {};
            let r = c
                .call(&mut client, request, Client::get_spend_by_team)
                .await?;
            if c.json {
                print_json(&spend_json::teams_json(&r));
            } else {
                print_table(
                    &["DAY", "TEAM", "ALIAS", "SPEND"],
                    r.daily
                        .iter()
                        .map(|d| {
                            vec![
                                d.day.clone(),
                                d.team_id.clone(),
                                dash_if_empty(&d.team_alias),
                                dollars(d.spend_picos),
                            ]
                        })
                        .collect(),
                );
            }
        }
        SpendCommand::Report {
            start_date,
            end_date,
            group_by,
        } => {
            let request = SpendReportRequest {
                start_date,
                end_date,
                group_by,
            };
            let r = c
                .call(&mut client, request, Client::get_spend_report)
                .await?;
            if c.json {
                print_json(&spend_json::report_json(&r));
            } else {
                let mut rows = Vec::new();
                for day in &r.days {
                    for g in &day.groups {
                        for l in &g.lines {
                            rows.push(vec![
                                day.day.clone(),
                                if g.name.is_empty() {
                                    g.id.clone()
                                } else {
                                    g.name.clone()
                                },
                                l.model.clone(),
                                if l.api_key.is_empty() {
                                    "-".into()
                                } else {
                                    l.api_key.chars().take(12).collect()
                                },
                                (l.prompt_tokens + l.completion_tokens).to_string(),
                                dollars(l.spend_picos),
                            ]);
                        }
                    }
                }
                print_table(
                    &[
                        "DAY",
                        &r.group_by.to_ascii_uppercase(),
                        "MODEL",
                        "KEY",
                        "TOKENS",
                        "SPEND",
                    ],
                    rows,
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::dollars;

    #[test]
    fn dollars_are_exact() {
        assert_eq!(dollars(0), "$0");
        assert_eq!(dollars(1), "$0.000000000001");
        assert_eq!(dollars(1_500_000_000_000), "$1.5");
        assert_eq!(dollars(-2_000_000_000_000), "-$2");
    }
}
