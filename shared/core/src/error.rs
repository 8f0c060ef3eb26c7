//! Stage errors, split the way Step Functions needs them: `Retryable` failures are
//! retried with backoff by the state machine (`Retry` on the error type), everything
//! else is `NonRetryable` and goes straight to the `Catch` that marks the run FAILED.

use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Try again later: a transient storage fault, or a barrier not yet reached
    /// (aggregate before every partition is DONE).
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help: invalid input, a missing artifact, a bug.
    #[error("{0}")]
    NonRetryable(String),
}

impl StageError {
    /// The error type name Step Functions matches in `Retry`/`Catch`.
    pub fn error_type(&self) -> &'static str {
        match self {
            StageError::Retryable(_) => "Retryable",
            StageError::NonRetryable(_) => "NonRetryable",
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        StageError::NonRetryable(msg.into())
    }
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Transient(_) => StageError::Retryable(e.to_string()),
            StoreError::NotFound(_) | StoreError::Permanent(_) | StoreError::TooLarge { .. } => {
                StageError::NonRetryable(e.to_string())
            }
        }
    }
}
