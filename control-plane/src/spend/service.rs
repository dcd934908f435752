//! The spend queries: LiteLLM's `/spend/logs` and `/global/spend/*`, answered
//! in picodollars (the edges convert to LiteLLM's USD floats).
//!
//! Logs come from `spend_logs`; everything global comes from `spend_daily`,
//! which ingest keeps up to date, so no report scans the log.

use super::dates::DayRange;
use super::{EntityKind, SpendError, convert};
use crate::db::entities::spend_daily;
use crate::db::{LogFilter, SpendLogs, spend_daily as daily, spend_names};
use std::collections::{BTreeMap, HashMap};
use tollgate_proto::v1::{
    DaySpend, GlobalSpendResponse, KeySpend, KeySpendResponse, ModelSpend, ModelSpendResponse,
    ReportDay, ReportGroup, ReportLine, SpendLogsRequest, SpendLogsResponse, SpendReportRequest,
    SpendReportResponse, TeamDaySpend, TeamSpendResponse,
};
use tollgate_shared::keys::KeyHash;

/// `/spend/logs` without a limit returns at most this many logs, newest
/// first (LiteLLM returns the whole table, which does not survive a busy
/// gateway).
pub const DEFAULT_LOG_LIMIT: u64 = 1_000;
pub const MAX_LOG_LIMIT: u64 = 100_000;
/// LiteLLM's `Last30d…` views.
const WINDOW_DAYS: u64 = 30;

#[derive(Clone)]
pub struct SpendQueries {
    logs: SpendLogs,
}

/// A key as LiteLLM accepts it: plaintext (sk-…) or its SHA-256 hex.
pub fn key_hash(reference: &str) -> String {
    let r = reference.trim();
    if r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        r.to_ascii_lowercase()
    } else {
        KeyHash::of(r).to_hex()
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn add(map: &mut HashMap<String, i64>, key: &str, picos: i64) {
    let v = map.entry(key.to_string()).or_insert(0);
    *v = v.saturating_add(picos);
}

fn by_spend_desc<T>(items: &mut [T], spend: impl Fn(&T) -> i64, name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| spend(b).cmp(&spend(a)).then_with(|| name(a).cmp(name(b))));
}

fn truncate<T>(items: &mut Vec<T>, limit: u32) {
    if limit > 0 {
        items.truncate(limit as usize);
    }
}

impl SpendQueries {
    pub fn new(logs: SpendLogs) -> Self {
        Self { logs }
    }

    async fn window_rows(&self, kind: EntityKind) -> Result<Vec<spend_daily::Model>, SpendError> {
        let range = DayRange::last_days(WINDOW_DAYS);
        Ok(daily::rows(
            self.logs.connection(),
            kind,
            &range.first_key(),
            &range.last_key(),
        )
        .await?)
    }

    /// `GET /spend/logs`. `only_key`: the caller is that key (not an admin)
    /// and sees its own logs only.
    pub async fn logs(
        &self,
        r: SpendLogsRequest,
        only_key: Option<String>,
    ) -> Result<SpendLogsResponse, SpendError> {
        let range = DayRange::from_params(&r.start_date, &r.end_date)?;
        let asked_key = non_empty(&r.api_key).map(|k| key_hash(&k));
        let api_key = match (only_key, asked_key) {
            (Some(own), Some(asked)) if own != asked => {
                return Err(SpendError::Forbidden(
                    "A virtual key may read its own spend logs only; use the master key for others."
                        .into(),
                ));
            }
            (Some(own), _) => Some(own),
            (None, asked) => asked,
        };
        let filter = LogFilter {
            api_key,
            user_id: non_empty(&r.user_id),
            request_id: non_empty(&r.request_id),
            range: range.map(|d| d.instants()),
        };
        match range {
            Some(days) if r.summarize.unwrap_or(true) => Ok(SpendLogsResponse {
                summarized: true,
                logs: Vec::new(),
                days: self.summarize(&filter, days).await?,
            }),
            _ => {
                let limit = match u64::from(r.limit) {
                    0 => DEFAULT_LOG_LIMIT,
                    n => n.min(MAX_LOG_LIMIT),
                };
                let logs = self.logs.find(&filter, limit).await?;
                Ok(SpendLogsResponse {
                    summarized: false,
                    logs: logs.into_iter().map(convert::log_to_proto).collect(),
                    days: Vec::new(),
                })
            }
        }
    }

    /// Spend per day (every day of the range, zero-filled), per key, user
    /// and model group, from the logs themselves so every filter applies.
    async fn summarize(
        &self,
        filter: &LogFilter,
        range: DayRange,
    ) -> Result<Vec<DaySpend>, SpendError> {
        let mut days: BTreeMap<String, DaySpend> = range
            .days()
            .map(|day| {
                (
                    day.clone(),
                    DaySpend {
                        day,
                        ..DaySpend::default()
                    },
                )
            })
            .collect();
        for (day, key, user, model, picos) in self.logs.summary_rows(filter).await? {
            let Some(d) = days.get_mut(&day) else {
                continue;
            };
            d.spend_picos = d.spend_picos.saturating_add(picos);
            if !key.is_empty() {
                add(&mut d.keys, &key, picos);
            }
            if let Some(user) = user.filter(|u| !u.is_empty()) {
                add(&mut d.users, &user, picos);
            }
            add(&mut d.models, &model, picos);
        }
        Ok(days.into_values().collect())
    }

    /// `GET /global/spend`: the last 30 days, as LiteLLM's
    /// `MonthlyGlobalSpend` view.
    pub async fn global(&self, max_budget: f64) -> Result<GlobalSpendResponse, SpendError> {
        let spend_picos = self
            .window_rows(EntityKind::Global)
            .await?
            .iter()
            .fold(0i64, |acc, r| acc.saturating_add(r.spend_picos));
        Ok(GlobalSpendResponse {
            spend_picos,
            max_budget,
        })
    }

    /// `GET /global/spend/models`.
    pub async fn models(&self, limit: u32) -> Result<ModelSpendResponse, SpendError> {
        let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
        for r in self.window_rows(EntityKind::Model).await? {
            let t = totals.entry(r.entity_id).or_insert((0, 0));
            t.0 = t.0.saturating_add(r.spend_picos);
            t.1 =
                t.1.saturating_add(r.prompt_tokens.saturating_add(r.completion_tokens));
        }
        let mut models: Vec<ModelSpend> = totals
            .into_iter()
            .map(|(model, (spend_picos, total_tokens))| ModelSpend {
                model,
                spend_picos,
                total_tokens,
            })
            .collect();
        by_spend_desc(&mut models, |m| m.spend_picos, |m| &m.model);
        truncate(&mut models, limit);
        Ok(ModelSpendResponse { models })
    }

    /// `GET /global/spend/keys`.
    pub async fn keys(&self, limit: u32) -> Result<KeySpendResponse, SpendError> {
        let mut totals: HashMap<String, i64> = HashMap::new();
        for r in self.window_rows(EntityKind::Key).await? {
            add(&mut totals, &r.entity_id, r.spend_picos);
        }
        let mut keys: Vec<KeySpend> = totals
            .into_iter()
            .map(|(api_key, spend_picos)| KeySpend {
                api_key,
                spend_picos,
                ..KeySpend::default()
            })
            .collect();
        by_spend_desc(&mut keys, |k| k.spend_picos, |k| &k.api_key);
        truncate(&mut keys, limit);
        let names = spend_names::keys(
            self.logs.connection(),
            keys.iter().map(|k| k.api_key.clone()).collect(),
        )
        .await?;
        for k in &mut keys {
            if let Some((alias, name)) = names.get(&k.api_key) {
                k.key_alias = alias.clone().unwrap_or_default();
                k.key_name = name.clone();
            }
        }
        Ok(KeySpendResponse { keys })
    }

    /// `GET /global/spend/teams`: spend per team per day.
    pub async fn teams(&self) -> Result<TeamSpendResponse, SpendError> {
        let mut per: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in self.window_rows(EntityKind::Team).await? {
            let v = per.entry((r.day, r.entity_id)).or_insert(0);
            *v = v.saturating_add(r.spend_picos);
        }
        let ids: Vec<String> = per.keys().map(|(_, t)| t.clone()).collect();
        let aliases = spend_names::teams(self.logs.connection(), ids).await?;
        Ok(TeamSpendResponse {
            daily: per
                .into_iter()
                .map(|((day, team_id), spend_picos)| TeamDaySpend {
                    team_alias: aliases.get(&team_id).cloned().unwrap_or_default(),
                    team_id,
                    day,
                    spend_picos,
                })
                .collect(),
        })
    }

    /// `GET /global/spend/report`: per day, per team / customer / key, with
    /// the spend broken down by model (and key, for teams and customers).
    pub async fn report(&self, r: SpendReportRequest) -> Result<SpendReportResponse, SpendError> {
        let range = DayRange::from_params(&r.start_date, &r.end_date)?.ok_or_else(|| {
            SpendError::Invalid("`start_date` and `end_date` are required (YYYY-MM-DD).".into())
        })?;
        let group_by = match r.group_by.trim() {
            "" | "team" => "team",
            "customer" => "customer",
            "api_key" => "api_key",
            other => {
                return Err(SpendError::Invalid(format!(
                    "`group_by` must be team, customer or api_key; got `{other}`."
                )));
            }
        };
        let kind = match group_by {
            "team" => EntityKind::Team,
            "customer" => EntityKind::EndUser,
            _ => EntityKind::Key,
        };
        let rows = daily::rows(
            self.logs.connection(),
            kind,
            &range.first_key(),
            &range.last_key(),
        )
        .await?;
        let names = if kind == EntityKind::Team {
            spend_names::teams(
                self.logs.connection(),
                rows.iter().map(|r| r.entity_id.clone()).collect(),
            )
            .await?
        } else {
            HashMap::new()
        };
        let mut days: BTreeMap<String, BTreeMap<String, ReportGroup>> = BTreeMap::new();
        for row in rows {
            let group = days
                .entry(row.day)
                .or_default()
                .entry(row.entity_id.clone())
                .or_insert_with(|| ReportGroup {
                    name: names.get(&row.entity_id).cloned().unwrap_or_default(),
                    id: row.entity_id.clone(),
                    ..ReportGroup::default()
                });
            group.spend_picos = group.spend_picos.saturating_add(row.spend_picos);
            group.lines.push(ReportLine {
                model: row.model_group,
                api_key: if kind == EntityKind::Key {
                    String::new()
                } else {
                    row.api_key
                },
                spend_picos: row.spend_picos,
                prompt_tokens: row.prompt_tokens,
                completion_tokens: row.completion_tokens,
            });
        }
        Ok(SpendReportResponse {
            group_by: group_by.to_string(),
            days: days
                .into_iter()
                .map(|(day, groups)| ReportDay {
                    day,
                    groups: groups.into_values().collect(),
                })
                .collect(),
        })
    }
}
