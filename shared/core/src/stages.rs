//! The four generic operations (partition, compute-partition, aggregate, synthesize)
//! and the persona stage, as plain async functions over the storage traits. The
//! Lambda mains and the local runner call exactly these.

use crate::api::*;
use crate::narrative::Narrator;
use crate::storage::{BlobStore, RunStore};
use crate::StageError;

/// Validate the portfolio, derive the run id, generate and split the scenario set,
/// write the manifest and scenario partitions, record the run and its partitions.
pub async fn partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &RunRequest,
) -> Result<PartitionPlan, StageError> {
    todo!()
}

/// Evaluate one partition idempotently: a DONE partition is a no-op.
pub async fn compute_partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    task: &PartitionTask,
) -> Result<PartitionOutcome, StageError> {
    todo!()
}

/// Barrier + merge: refuses (Retryable) while any partition is not DONE.
pub async fn aggregate<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    todo!()
}

/// One persona agent: reads the aggregate (and earlier findings), writes its findings.
pub async fn persona<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: Persona,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    todo!()
}

/// Findings → results.json, summary.md, report.html and the narrative; marks the run
/// SUCCEEDED.
pub async fn synthesize<B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    todo!()
}
