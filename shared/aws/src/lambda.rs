//! Lambda glue shared by every function crate (feature `lambda`).
//!
//! Step Functions matches `Retry` / `Catch` on the `errorType` a Lambda reports. The
//! runtime derives that from [`Diagnostic::error_type`], which by default is a Rust type
//! name — useless for matching. [`LambdaFailure`] reports exactly `Retryable` or
//! `NonRetryable` (from [`StageError::error_type`]), the names the state machines use.
//! It is a wrapper because neither `StageError` nor `Diagnostic` belongs to this crate,
//! so `From<StageError> for Diagnostic` cannot be written here.

use lambda_runtime::Diagnostic;
use stresslab_core::storage::StoreError;
use stresslab_core::StageError;

/// A handler's error: return `Result<T, LambdaFailure>` from the handler and use `?` on
/// stage and storage results.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct LambdaFailure(pub StageError);

impl From<StageError> for LambdaFailure {
    fn from(e: StageError) -> Self {
        LambdaFailure(e)
    }
}

impl From<StoreError> for LambdaFailure {
    fn from(e: StoreError) -> Self {
        LambdaFailure(e.into())
    }
}

impl From<LambdaFailure> for Diagnostic {
    fn from(failure: LambdaFailure) -> Self {
        Diagnostic {
            error_type: failure.0.error_type().to_owned(),
            error_message: failure.0.to_string(),
        }
    }
}

/// JSON log lines (one object per event, which CloudWatch Logs Insights parses),
/// filtered by `RUST_LOG`, `info` when unset. Safe to call more than once.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests, a harness that already set one) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(true)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_errors_become_the_error_types_step_functions_matches() {
        let d: Diagnostic =
            LambdaFailure(StageError::Retryable("barrier not reached".into())).into();
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(d.error_message, "barrier not reached");
        let d: Diagnostic = LambdaFailure(StageError::invalid("bad portfolio")).into();
        assert_eq!(d.error_type, "NonRetryable");
        assert_eq!(d.error_message, "bad portfolio");
    }

    #[test]
    fn storage_errors_keep_their_retry_class() {
        let d: Diagnostic = LambdaFailure::from(StoreError::Transient("throttled".into())).into();
        assert_eq!(d.error_type, "Retryable");
        let d: Diagnostic = LambdaFailure::from(StoreError::NotFound("k".into())).into();
        assert_eq!(d.error_type, "NonRetryable");
    }

    #[test]
    fn init_tracing_twice_is_harmless() {
        init_tracing();
        init_tracing();
    }
}
