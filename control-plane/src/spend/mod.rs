//! Spend: how usage is stored ([`ingest`]), what it adds up to ([`rollup`]), and the queries behind LiteLLM's
//! `/spend/logs` and `/global/spend/*` ([`service`]).

pub mod convert;
pub mod dates;
pub mod error;
pub mod hourly;
pub mod ingest;
pub mod rollup;
pub mod service;

pub use error::SpendError;
pub use ingest::IngestWriter;
pub use service::SpendQueries;

/// Who a `spend_daily` row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    Key,
    Team,
    User,
    EndUser,
    Model,
    Global,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Team => "team",
            Self::User => "user",
            Self::EndUser => "end_user",
            Self::Model => "model",
            Self::Global => "global",
        }
    }
}
