//! Lambda glue shared by every function crate (feature `lambda`).
//!
//! Step Functions matches `Retry` / `Catch` on the `errorType` a Lambda reports. The
//! runtime derives that from [`Diagnostic::error_type`], which by default is a Rust type
//! name — useless for matching. [`LambdaFailure`] reports exactly `Retryable` or
//! `NonRetryable` (from [`StageError::error_type`]), the names the state machines use.
//! It is a wrapper because neither `StageError` nor `Diagnostic` belongs to this crate,
//! so `From<StageError> for Diagnostic` cannot be written here.

use lambda_runtime::Diagnostic;
use stresslab_core::api::{Persona, RunRef, StageOutput};
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore, StoreError};
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

/// One persona invocation: the stage call, with its error kept as the Step Functions
/// error type. Generic over the storage ports so tests can use the disk adapters.
pub async fn persona_handler<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: Persona,
    run: RunRef,
) -> Result<StageOutput, LambdaFailure> {
    stages::persona(blobs, runs, persona, &run)
        .await
        .map_err(LambdaFailure)
}

/// The whole `main` of a persona Lambda: the four persona crates differ only in which
/// persona they serve. Clients are built once per execution environment; a missing
/// ARTIFACT_BUCKET / RUN_TABLE fails the cold start with that message instead of every
/// invocation later.
pub async fn serve_persona(persona: Persona) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (blobs, runs) = crate::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<RunRef>| {
            persona_handler(&blobs, &runs, persona, event.payload)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that does not exist will not appear by retrying: every persona must answer
    /// `NonRetryable` (not `Retryable`, which the state machine would retry with backoff).
    #[tokio::test]
    async fn personas_do_not_retry_an_unknown_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = stresslab_core::local::DiskBlobStore::new(dir.path().join("blobs"));
        let runs = stresslab_core::local::DiskRunStore::new(dir.path().join("runs"));
        for persona in Persona::FACTOR_TEAM {
            let run = RunRef {
                run_id: "factor-0000".into(),
                workflow: stresslab_core::api::Workflow::Factor,
            };
            let failure = match persona_handler(&blobs, &runs, persona, run).await {
                Ok(output) => panic!("{} ran for an unknown run: {output:?}", persona.name()),
                Err(failure) => Diagnostic::from(failure),
            };
            assert_eq!(
                failure.error_type, "NonRetryable",
                "{}",
                failure.error_message
            );
        }
    }

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
