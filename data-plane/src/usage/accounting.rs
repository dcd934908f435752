//! Accounting for one request. Recording happens on drop as a backstop, so
//! a request whose client vanished mid-stream is still reported.

use super::UsageSink;
use crate::providers::StreamAccounting;
use crate::providers::stream::Usage;
use tollgate_proto::v1::{RequestStatus, UsageRecord};
use tollgate_shared::pricing::{Picodollars, Price};

pub struct Accounting {
    sink: UsageSink,
    record: UsageRecord,
    price: Option<Price>,
    recorded: bool,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Accounting {
    pub fn start(sink: UsageSink, request_id: String, call_type: &str, key_hash: String) -> Self {
        Self {
            sink,
            record: UsageRecord {
                request_id,
                call_type: call_type.to_string(),
                key_hash,
                start_time_ms: now_ms(),
                ..UsageRecord::default()
            },
            price: None,
            recorded: false,
        }
    }

    pub fn set_price(&mut self, price: Option<Price>) {
        self.price = price;
    }

    /// The cost of what has been counted so far.
    pub fn cost(&self) -> Option<Picodollars> {
        self.price
            .map(|p| p.cost(self.record.prompt_tokens, self.record.completion_tokens))
    }

    pub fn request_id(&self) -> &str {
        &self.record.request_id
    }

    pub fn set_route(
        &mut self,
        model_group: &str,
        deployment_id: &str,
        provider: &str,
        api_base: &str,
    ) {
        self.record.model_group = model_group.to_string();
        self.record.deployment_id = deployment_id.to_string();
        self.record.provider = provider.to_string();
        self.record.api_base = api_base.to_string();
    }

    pub fn set_stream(&mut self, stream: bool) {
        self.record.stream = stream;
    }

    pub fn set_end_user(&mut self, end_user: &str) {
        self.record.end_user = end_user.to_string();
    }

    pub fn succeed(mut self, usage: Usage) {
        self.usage(usage);
        self.completed();
        self.flush();
    }

    pub fn fail_with(mut self, http_status: u16, error_type: &str) {
        self.record.http_status = u32::from(http_status);
        self.failed(error_type);
        self.flush();
    }

    fn flush(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        if self.record.status == RequestStatus::Unspecified as i32 {
            // Dropped before completion: the client went away.
            self.record.status = RequestStatus::Failure.into();
            self.record.error_type = "client_disconnected".into();
            self.record.http_status = 499;
        }
        self.record.end_time_ms = now_ms();
        self.record.cost_known = self.price.is_some();
        self.record.cost_picos = self.cost().unwrap_or(0);
        self.sink.record(std::mem::take(&mut self.record));
    }
}

impl StreamAccounting for Accounting {
    fn first_chunk(&mut self) {
        self.record.first_token_time_ms = now_ms();
    }

    fn usage(&mut self, usage: Usage) {
        self.record.prompt_tokens = usage.prompt_tokens;
        self.record.completion_tokens = usage.completion_tokens;
    }

    fn completed(&mut self) {
        self.record.status = RequestStatus::Success.into();
        if self.record.http_status == 0 {
            self.record.http_status = 200;
        }
    }

    fn failed(&mut self, error_type: &str) {
        self.record.status = RequestStatus::Failure.into();
        self.record.error_type = error_type.to_string();
        if self.record.http_status == 0 {
            self.record.http_status = 500;
        }
    }
}

impl Drop for Accounting {
    fn drop(&mut self) {
        self.flush();
    }
}
