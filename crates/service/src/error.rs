use domain::ValidationError;
use store::StoreError;
use thiserror::Error;

/// Outcomes a caller must tell apart.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("invalid or revoked API token")]
    Unauthorized,
    /// Try again later: the database, the mail server or the file store is down or busy. The
    /// message is for the log; clients get 503 without it.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or data that no longer decodes (a malformed job payload, a failed decrypt, a stored
    /// rate card that no longer validates): logged with its cause chain, answered 500 with an
    /// opaque message. Retrying does not help.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl ServiceError {
    /// An [`ServiceError::Internal`] from a message (with whatever context it names).
    pub fn internal(message: impl std::fmt::Display) -> Self {
        ServiceError::Internal(anyhow::anyhow!("{message}"))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            e if e.is_transient() => ServiceError::Unavailable(format!("database: {e}")),
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}
