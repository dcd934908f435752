//! Why a spend query failed, and the gRPC status each reason becomes.

use tonic::Status;
use tracing::error;

#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

impl From<SpendError> for Status {
    fn from(e: SpendError) -> Status {
        match e {
            SpendError::Invalid(m) => Status::invalid_argument(m),
            SpendError::Forbidden(m) => Status::permission_denied(m),
            SpendError::Database(e) => {
                error!("spend query failed: {e}");
                Status::internal("database error; see the control plane's log")
            }
        }
    }
}
