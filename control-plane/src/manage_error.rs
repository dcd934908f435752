//! The error of the team, user and customer services, and its gRPC status.

use crate::entity_fields::FieldError;
use crate::keys::KeyError;
use crate::publisher::PublishError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("the change was stored but the snapshot could not be published: {0}")]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl ManageError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ManageError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for ManageError {
    fn from(e: FieldError) -> Self {
        ManageError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<ManageError> for Status {
    fn from(e: ManageError) -> Status {
        match e {
            ManageError::Invalid { .. } => Status::invalid_argument(e.to_string()),
            ManageError::NotFound(_) => Status::not_found(e.to_string()),
            ManageError::Conflict(_) => Status::already_exists(e.to_string()),
            ManageError::Key(k) => k.into(),
            // Details stay in the control plane's log.
            ManageError::Database(_) => {
                tracing::error!("{e}");
                Status::internal("database error; see the control plane's log")
            }
            ManageError::Publish(_) => {
                tracing::error!("{e}");
                Status::internal(e.to_string())
            }
        }
    }
}

/// A unique index refused the write (two concurrent creates of one id or alias).
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("unique") || text.contains("duplicate key")
}
