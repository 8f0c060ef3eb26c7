//! `partition` Lambda: the first state of the factor state machine. It validates the
//! run request, derives the run id, writes the scenario set and its partitions, and
//! records the run; its output is the Map state's item list.
//!
//! All the work is [`stresslab_core::stages::partition`], the function `stresslab run`
//! calls locally: this crate only binds it to the Lambda runtime, so a run on a laptop
//! and a run on AWS execute the same code.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use stresslab_aws::lambda::{init_tracing, LambdaFailure};
use stresslab_core::api::{PartitionPlan, RunRequest};
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore};

/// One invocation. Generic over the storage ports so tests can drive it with the local
/// disk adapters; the error keeps the stage's `Retryable` / `NonRetryable` split, which
/// becomes the Lambda error type that the state machine's `Retry` and `Catch` match on.
async fn handler<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: RunRequest,
) -> Result<PartitionPlan, LambdaFailure> {
    stages::partition(blobs, runs, &request)
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
    lambda_runtime::run(service_fn(|event: LambdaEvent<RunRequest>| {
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
    const SAMPLE_EVENT: &str = include_str!("../../../events/partition.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: RunRequest = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: RunRequest = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }

    /// A portfolio that is not there cannot appear by retrying: the error must be
    /// `NonRetryable` so the state machine goes straight to its failure path.
    #[tokio::test]
    async fn a_missing_portfolio_is_not_retried() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let blobs = DiskBlobStore::new(dir.path().join("blobs"));
        let runs = DiskRunStore::new(dir.path().join("runs"));
        let request: RunRequest = serde_json::from_str(SAMPLE_EVENT)?;
        let failure = match handler(&blobs, &runs, request).await {
            Ok(plan) => return Err(format!("partitioned a missing portfolio: {plan:?}").into()),
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
