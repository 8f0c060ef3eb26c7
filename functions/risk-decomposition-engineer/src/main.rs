//! `risk-decomposition-engineer` Lambda: one persona agent of the factor workflow. It
//! reports where the book's normal and stressed risk come from (Euler contributions of
//! each factor and the idiosyncratic part), and writes its findings.
//!
//! All the work is [`stresslab_core::stages::persona`] with
//! [`Persona::RiskDecompositionEngineer`], the call the local runner makes; this crate
//! only binds it to the Lambda runtime.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use stresslab_aws::lambda::{init_tracing, LambdaFailure};
use stresslab_core::api::{Persona, RunRef, StageOutput};
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore};

/// One invocation. Generic over the storage ports so tests can drive it with the local
/// disk adapters; the error keeps the stage's `Retryable` / `NonRetryable` split, which
/// becomes the Lambda error type that the state machine's `Retry` and `Catch` match on.
async fn handler<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: RunRef,
) -> Result<StageOutput, LambdaFailure> {
    stages::persona(blobs, runs, Persona::RiskDecompositionEngineer, &run)
        .await
        .map_err(LambdaFailure)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // Clients are built once per execution environment and shared by every invocation.
    // A missing ARTIFACT_BUCKET / RUN_TABLE fails the cold start with that message
    // instead of failing each invocation later.
    let (blobs, runs) = stresslab_aws::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RunRef>| {
        handler(&blobs, &runs, event.payload)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use stresslab_core::local::{DiskBlobStore, DiskRunStore};

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/risk-decomposition-engineer.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: RunRef = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: RunRef = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }

    /// The crate name is the Lambda name the state machine and `cargo lambda watch`
    /// route by; it must be the persona's own name, or a run would record the wrong stage.
    #[test]
    fn crate_is_named_after_its_persona() {
        assert_eq!(
            Persona::RiskDecompositionEngineer.name(),
            env!("CARGO_PKG_NAME")
        );
    }

    /// A run that does not exist will not appear by retrying: the error must be
    /// `NonRetryable` (not `Retryable`, which the state machine would retry with backoff).
    #[tokio::test]
    async fn an_unknown_run_is_not_retried() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let blobs = DiskBlobStore::new(dir.path().join("blobs"));
        let runs = DiskRunStore::new(dir.path().join("runs"));
        let payload = serde_json::from_str(SAMPLE_EVENT)?;
        let failure = match handler(&blobs, &runs, payload).await {
            Ok(output) => return Err(format!("ran for an unknown run: {output:?}").into()),
            Err(failure) => Diagnostic::from(failure),
        };
        assert_eq!(
            failure.error_type, "NonRetryable",
            "{}",
            failure.error_message
        );
        Ok(())
    }
}
