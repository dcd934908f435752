//! Spend-log rows → the wire `SpendLog`.

use crate::db::entities::spend_log::Model;
use tollgate_proto::v1::SpendLog;

fn u32_of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub fn log_to_proto(m: Model) -> SpendLog {
    let tags: Vec<String> = serde_json::from_str(&m.tags).unwrap_or_default();
    let request_duration_ms = (m.end_time - m.start_time).num_milliseconds().max(0);
    SpendLog {
        request_duration_ms,
        request_id: m.request_id,
        call_type: m.call_type,
        api_key: m.api_key,
        spend_picos: m.spend_picos,
        cost_known: m.cost_known,
        prompt_tokens: m.prompt_tokens,
        completion_tokens: m.completion_tokens,
        total_tokens: m.total_tokens,
        cached_tokens: m.cached_tokens,
        start_time: m.start_time.to_rfc3339(),
        end_time: m.end_time.to_rfc3339(),
        completion_start_time: m
            .completion_start_time
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        model_group: m.model_group,
        model_id: m.model_id,
        provider: m.provider,
        api_base: m.api_base,
        user_id: m.user_id.unwrap_or_default(),
        end_user: m.end_user.unwrap_or_default(),
        team_id: m.team_id.unwrap_or_default(),
        key_alias: m.key_alias.unwrap_or_default(),
        status: m.status,
        error_type: m.error_type.unwrap_or_default(),
        http_status: u32_of(m.http_status),
        stream: m.stream,
        retries: u32_of(m.retries),
        fallbacks: u32_of(m.fallbacks),
        tags,
        metadata_json: m.metadata.unwrap_or_default(),
        overhead_us: u64::try_from(m.overhead_us).unwrap_or(0),
        usage_source: m.usage_source,
        node_id: m.node_id,
        trace_id: m.trace_id.unwrap_or_default(),
        span_id: m.span_id.unwrap_or_default(),
    }
}
