use crate::entity_fields::FieldError;
use crate::publisher::PublishError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("key not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("the key was stored but the snapshot could not be published: {0}")]
    Publish(#[from] PublishError),
}

impl KeyError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        KeyError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for KeyError {
    fn from(e: FieldError) -> Self {
        KeyError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<KeyError> for Status {
    fn from(e: KeyError) -> Status {
        match &e {
            KeyError::Invalid { .. } => Status::invalid_argument(e.to_string()),
            KeyError::NotFound(_) => Status::not_found(e.to_string()),
            KeyError::Conflict(_) => Status::already_exists(e.to_string()),
            // Details stay in the control plane's log.
            KeyError::Database(_) => {
                tracing::error!("{e}");
                Status::internal("database error; see the control plane's log")
            }
            KeyError::Publish(_) => {
                tracing::error!("{e}");
                Status::internal(e.to_string())
            }
        }
    }
}
