//! SpendService answers → LiteLLM's JSON shapes for `/spend/logs` and
//! `/global/spend/*`: shared by the data plane's routes and `tollgate spend
//! --json`, so both print the same thing.
//!
//! The wire carries integer picodollars; LiteLLM's JSON has USD floats.

use crate::v1::{
    DaySpend, GlobalSpendResponse, KeySpendResponse, ModelSpendResponse, SpendLog,
    SpendLogsResponse, SpendReportResponse, TeamSpendResponse,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Picodollars (10⁻¹² USD) → USD, as `tollgate_shared::pricing::to_usd`.
pub fn usd(picos: i64) -> f64 {
    picos as f64 / 1e12
}

fn text_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_string())
    }
}

/// One `LiteLLM_SpendLogs` row.
pub fn log_json(l: &SpendLog) -> Value {
    let metadata: Value = serde_json::from_str(&l.metadata_json).unwrap_or_else(|_| json!({}));
    json!({
        "request_id": l.request_id,
        "call_type": l.call_type,
        "api_key": l.api_key,
        "spend": usd(l.spend_picos),
        "spend_picos": l.spend_picos,
        "total_tokens": l.total_tokens,
        "prompt_tokens": l.prompt_tokens,
        "completion_tokens": l.completion_tokens,
        "startTime": l.start_time,
        "endTime": l.end_time,
        "completionStartTime": text_or_null(&l.completion_start_time),
        "request_duration_ms": l.request_duration_ms,
        "model": l.model_group,
        "model_id": l.model_id,
        "model_group": l.model_group,
        "custom_llm_provider": l.provider,
        "api_base": l.api_base,
        "user": l.user_id,
        "metadata": {
            "user_api_key": l.api_key,
            "user_api_key_alias": text_or_null(&l.key_alias),
            "user_api_key_team_id": text_or_null(&l.team_id),
            "user_api_key_user_id": text_or_null(&l.user_id),
            "user_api_key_org_id": Value::Null,
            "spend_logs_metadata": metadata,
            "usage_object": {
                "prompt_tokens": l.prompt_tokens,
                "completion_tokens": l.completion_tokens,
                "total_tokens": l.total_tokens,
                "prompt_tokens_details": {"cached_tokens": l.cached_tokens},
            },
            "litellm_overhead_time_ms": l.overhead_us as f64 / 1000.0,
            "attempted_retries": l.retries,
            "attempted_fallbacks": l.fallbacks,
            "status": l.status,
            "error_information": if l.error_type.is_empty() {
                Value::Null
            } else {
                json!({"error_class": l.error_type, "error_code": l.http_status})
            },
            "cost_known": l.cost_known,
            "usage_source": text_or_null(&l.usage_source),
            "node_id": l.node_id,
            // The request's trace (open it in Jaeger by this id).
            "trace_id": text_or_null(&l.trace_id),
            "span_id": text_or_null(&l.span_id),
        },
        "cache_hit": "False",
        "cache_key": "",
        "request_tags": l.tags,
        "team_id": text_or_null(&l.team_id),
        "organization_id": Value::Null,
        "end_user": l.end_user,
        "requester_ip_address": Value::Null,
        "messages": {},
        "response": {},
        "session_id": Value::Null,
        "status": l.status,
        "stream": l.stream,
    })
}

fn spend_map(m: &std::collections::HashMap<String, i64>) -> Map<String, Value> {
    let sorted: BTreeMap<&String, &i64> = m.iter().collect();
    sorted
        .into_iter()
        .map(|(k, v)| (k.clone(), json!(usd(*v))))
        .collect()
}

/// A summarized day: `{"startTime", "spend", "<key hash>": spend, "users",
/// "models"}`.
pub fn day_json(d: &DaySpend) -> Value {
    let mut out = Map::new();
    out.insert("startTime".into(), json!(d.day));
    out.insert("spend".into(), json!(usd(d.spend_picos)));
    for (key, spend) in spend_map(&d.keys) {
        out.insert(key, spend);
    }
    out.insert("users".into(), Value::Object(spend_map(&d.users)));
    out.insert("models".into(), Value::Object(spend_map(&d.models)));
    Value::Object(out)
}

/// `GET /spend/logs`: a list of logs, or of days when summarized.
pub fn spend_logs_json(r: &SpendLogsResponse) -> Value {
    if r.summarized {
        Value::Array(r.days.iter().map(day_json).collect())
    } else {
        Value::Array(r.logs.iter().map(log_json).collect())
    }
}

pub fn global_spend_json(r: &GlobalSpendResponse) -> Value {
    json!({"spend": usd(r.spend_picos), "max_budget": r.max_budget})
}

pub fn models_json(r: &ModelSpendResponse) -> Value {
    Value::Array(
        r.models
            .iter()
            .map(|m| json!({"model": m.model, "total_spend": usd(m.spend_picos), "total_tokens": m.total_tokens}))
            .collect(),
    )
}

pub fn keys_json(r: &KeySpendResponse) -> Value {
    Value::Array(
        r.keys
            .iter()
            .map(|k| {
                json!({
                    "api_key": k.api_key,
                    "key_alias": text_or_null(&k.key_alias),
                    "key_name": text_or_null(&k.key_name),
                    "total_spend": usd(k.spend_picos),
                })
            })
            .collect(),
    )
}

/// `{"daily_spend": [{"date", <team>: spend}], "teams": [...],
/// "total_spend_per_team": [{"team_id", "team_alias", "total_spend"}]}`; a
/// team is named by its alias when it has one, as in LiteLLM's chart data.
pub fn teams_json(r: &TeamSpendResponse) -> Value {
    let name = |id: &str, alias: &str| {
        if alias.is_empty() {
            id.to_string()
        } else {
            alias.to_string()
        }
    };
    let mut days: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for d in &r.daily {
        let team = name(&d.team_id, &d.team_alias);
        days.entry(d.day.as_str())
            .or_default()
            .insert(team, json!(usd(d.spend_picos)));
        let t = totals
            .entry((d.team_id.clone(), d.team_alias.clone()))
            .or_insert(0);
        *t = t.saturating_add(d.spend_picos);
    }
    let mut per_team: Vec<((String, String), i64)> = totals.into_iter().collect();
    per_team.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    json!({
        "daily_spend": days
            .into_iter()
            .map(|(day, mut teams)| {
                teams.insert("date".into(), json!(day));
                Value::Object(teams)
            })
            .collect::<Vec<_>>(),
        "teams": per_team.iter().map(|((id, alias), _)| name(id, alias)).collect::<Vec<_>>(),
        "total_spend_per_team": per_team
            .iter()
            .map(|((id, alias), spend)| json!({
                "team_id": id,
                "team_alias": text_or_null(alias),
                "total_spend": usd(*spend),
            }))
            .collect::<Vec<_>>(),
    })
}

/// `GET /global/spend/report`. By team or customer: per day, each group
/// with its spend per (model, key). By key: LiteLLM's flat shape, one entry
/// per key over the whole range with its spend per model.
pub fn report_json(r: &SpendReportResponse) -> Value {
    if r.group_by == "api_key" {
        // Key → (spend, model → (spend, prompt tokens, completion tokens)).
        type PerModel<'a> = BTreeMap<&'a str, (i64, i64, i64)>;
        let mut keys: BTreeMap<&str, (i64, PerModel)> = BTreeMap::new();
        for day in &r.days {
            for g in &day.groups {
                let entry = keys.entry(g.id.as_str()).or_default();
                entry.0 = entry.0.saturating_add(g.spend_picos);
                for l in &g.lines {
                    let m = entry.1.entry(l.model.as_str()).or_default();
                    m.0 = m.0.saturating_add(l.spend_picos);
                    m.1 = m.1.saturating_add(l.prompt_tokens);
                    m.2 = m.2.saturating_add(l.completion_tokens);
                }
            }
        }
        return Value::Array(
            keys.into_iter()
                .map(|(key, (spend, models))| {
                    json!({
                        "api_key": key,
                        "total_cost": usd(spend),
                        "model_details": models
                            .into_iter()
                            .map(|(model, (s, p, c))| json!({
                                "model": model,
                                "total_cost": usd(s),
                                "prompt_tokens": p,
                                "completion_tokens": c,
                            }))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect(),
        );
    }
    let (list, label) = if r.group_by == "customer" {
        ("customers", "customer")
    } else {
        ("teams", "team_name")
    };
    Value::Array(
        r.days
            .iter()
            .map(|day| {
                let groups: Vec<Value> = day
                    .groups
                    .iter()
                    .map(|g| {
                        let mut out = Map::new();
                        let shown = if g.name.is_empty() { &g.id } else { &g.name };
                        out.insert(label.into(), json!(shown));
                        if list == "teams" {
                            out.insert("team_id".into(), json!(g.id));
                        }
                        out.insert("total_spend".into(), json!(usd(g.spend_picos)));
                        out.insert(
                            "metadata".into(),
                            Value::Array(
                                g.lines
                                    .iter()
                                    .map(|l| {
                                        let mut line = json!({
                                            "model": l.model,
                                            "spend": usd(l.spend_picos),
                                            "total_tokens": l.prompt_tokens.saturating_add(l.completion_tokens),
                                        });
                                        if !l.api_key.is_empty() {
                                            line["api_key"] = json!(l.api_key);
                                        }
                                        line
                                    })
                                    .collect(),
                            ),
                        );
                        Value::Object(out)
                    })
                    .collect();
                json!({"group_by_day": format!("{}T00:00:00+00:00", day.day), list: groups})
            })
            .collect(),
    )
}
