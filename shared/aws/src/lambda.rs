//! Lambda glue shared by every function crate (feature `lambda`): the whole `main` of
//! an operation Lambda ([`serve_stage`]) and of a persona Lambda ([`serve_persona`]),
//! and the mapping of stage errors to the error types Step Functions matches.
//!
//! Step Functions matches `Retry` / `Catch` on the `errorType` a Lambda reports. The
//! runtime derives that from [`Diagnostic::error_type`], which by default is a Rust type
//! name — useless for matching. [`LambdaFailure`] reports exactly `Retryable` or
//! `NonRetryable` (from [`StageError::error_type`]), the names the state machines use.
//! It is a wrapper because neither `StageError` nor `Diagnostic` belongs to this crate,
//! so `From<StageError> for Diagnostic` cannot be written here.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;
use std::pin::Pin;
use stresslab_core::api::{RunRef, StageOutput};
use stresslab_core::engine::WorkflowEngine;
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore, StoreError};
use stresslab_core::StageError;

use crate::{DynamoRunStore, S3BlobStore};

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

/// The runtime's own subscriber, so Lambda's advanced logging controls work:
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO) and `AWS_LAMBDA_LOG_FORMAT=JSON`.
/// Safe to call more than once (only the first call installs it).
pub fn init_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(lambda_runtime::tracing::init_default_subscriber);
}

/// Both stores, built once per execution environment and kept for its lifetime (so
/// handlers can borrow them for `'static`). A missing ARTIFACT_BUCKET / RUN_TABLE fails
/// the cold start with that message instead of every invocation later.
async fn stores() -> Result<&'static (S3BlobStore, DynamoRunStore), lambda_runtime::Error> {
    let stores = crate::from_env().await?;
    Ok(Box::leak(Box::new(stores)))
}

/// The whole `main` of an operation Lambda: `stage` is the registry call it serves.
/// Its error keeps the Retryable / NonRetryable split Step Functions matches on.
pub async fn serve_stage<I, O, F, Fut>(stage: F) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(&'static S3BlobStore, &'static DynamoRunStore, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, StageError>> + Send + 'static,
{
    init_tracing();
    let (blobs, runs) = stores().await?;
    let stage = &stage;
    // Boxed: the generic stage futures nest deeply, and an unboxed one would make
    // every main's future type exceed the compiler's layout recursion limit.
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<I>| {
        let call: Pin<Box<dyn Future<Output = Result<O, StageError>> + Send>> =
            Box::pin(stage(blobs, runs, event.payload));
        async move { call.await.map_err(LambdaFailure) }
    }))
    .await
}

/// One persona invocation: the engine's typed persona stage, with its error kept as
/// the Step Functions error type. Generic over the storage ports so tests can use the
/// disk adapters. A run of another workflow is refused (NonRetryable) by the stage.
pub async fn persona_handler<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: E::Persona,
    run: RunRef,
) -> Result<StageOutput, LambdaFailure> {
    if run.workflow.as_str() != E::NAME {
        return Err(LambdaFailure(StageError::invalid(format!(
            "workflow: this persona belongs to {}, the run is {}",
            E::NAME,
            run.workflow
        ))));
    }
    stages::persona::<E, B, R>(blobs, runs, persona, &run)
        .await
        .map_err(LambdaFailure)
}

/// The whole `main` of a persona Lambda: persona crates differ only in which persona
/// of which engine they serve.
pub async fn serve_persona<E: WorkflowEngine>(
    persona: E::Persona,
) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (blobs, runs) = stores().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<RunRef>| {
            let call: Pin<Box<dyn Future<Output = Result<StageOutput, LambdaFailure>> + Send>> =
                Box::pin(persona_handler::<E, _, _>(
                    blobs,
                    runs,
                    persona,
                    event.payload,
                ));
            call
        },
    ))
    .await
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
        let d: Diagnostic = LambdaFailure::from(StoreError::TooLarge {
            key: "k".into(),
            limit: 1,
        })
        .into();
        assert_eq!(d.error_type, "NonRetryable");
    }

    /// A persona Lambda refuses a run of another workflow before touching storage.
    #[test]
    fn a_persona_refuses_another_workflows_run() {
        use stresslab_core::engine::PersonaRole;
        use stresslab_factor::{FactorPersona, FactorWorkflow};
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = stresslab_core::local::DiskBlobStore::new(dir.path().join("blobs"));
        let runs = stresslab_core::local::DiskRunStore::new(dir.path().join("runs"));
        for &persona in FactorPersona::TEAM {
            let run = RunRef {
                run_id: "liquidity-0000".into(),
                workflow: stresslab_core::api::WorkflowName::new("liquidity"),
            };
            let failure = pollster::block_on(persona_handler::<FactorWorkflow, _, _>(
                &blobs, &runs, persona, run,
            ))
            .expect_err("ran for another workflow's run");
            let d = Diagnostic::from(failure);
            assert_eq!(d.error_type, "NonRetryable");
            assert!(d.error_message.contains("liquidity"), "{}", d.error_message);
        }
    }

    #[test]
    fn init_tracing_twice_is_harmless() {
        init_tracing();
        init_tracing();
    }
}
