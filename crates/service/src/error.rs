use domain::ValidationError;
use store::StoreError;
use thiserror::Error;

/// Outcomes a caller must tell apart; everything unexpected is `Internal`.
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
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            other => ServiceError::Internal(other),
        }
    }
}
