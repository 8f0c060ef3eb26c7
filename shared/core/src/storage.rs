//! Storage ports: where a run keeps its artifacts (a blob store) and its bookkeeping
//! (a run store). The stages are written against these two traits only, so the same
//! partition / compute / aggregate / synthesize code runs on a laptop (local disk
//! adapters in [`crate::local`]) and in Lambda (S3 + DynamoDB adapters in `shared/aws`).
//!
//! The run store contract mirrors one DynamoDB table (PK `RUN#<id>`, SK `META`,
//! `PART#<nnnn>`, `STAGE#<name>`); every "only once" rule is a conditional write there
//! and an exclusive create locally. [`contract`] holds the one test suite both adapters
//! must pass.

use serde::{Deserialize, Serialize};
use std::future::Future;

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;

/// Why a storage call failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key or item does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A transient failure (throttling, timeouts, I/O hiccups): try again.
    #[error("transient storage failure: {0}")]
    Transient(String),
    /// A permanent failure (bad configuration, malformed stored item).
    #[error("storage failure: {0}")]
    Permanent(String),
    /// The object is larger than the caller is prepared to hold in memory.
    #[error("{key} is larger than the limit of {limit} bytes")]
    TooLarge { key: String, limit: u64 },
}

/// Artifacts: immutable-by-convention bytes under string keys (`runs/<id>/...`).
///
/// Writes are all-or-nothing: a reader never sees half an artifact (temp file + rename
/// locally; S3 PUT is atomic).
pub trait BlobStore: Send + Sync {
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    /// Like `get`, but never holds more than `max_bytes` in memory: a larger object is
    /// `TooLarge`, found by its size (a ranged read on S3) before it is read whole.
    fn get_limited(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Write `body` only if nothing is stored at `key`: `Ok(true)` when this call wrote
    /// it, `Ok(false)` when an object was already there (left untouched). For artifacts
    /// that must never be overwritten (scenario libraries). The default checks, then
    /// writes — not atomic against a concurrent writer; the disk and S3 adapters
    /// override it with an exclusive create and a conditional PUT (`If-None-Match: *`).
    fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move {
            if self.exists(key).await? {
                return Ok(false);
            }
            self.put(key, body, content_type).await?;
            Ok(true)
        }
    }
    /// Keys under `prefix`, sorted.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// Lifecycle of a run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RUNNING" => Some(RunStatus::Running),
            "SUCCEEDED" => Some(RunStatus::Succeeded),
            "FAILED" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// The `META` item of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub workflow: String,
    pub portfolio_id: String,
    /// RFC 3339 UTC; only used to order runs of one portfolio (GSI sort key).
    pub created_at: String,
    pub partition_count: u32,
    pub scenario_count: u32,
    pub seed: u64,
    pub status: RunStatus,
    /// Why a run failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The engine version hashed into the run id.
    pub engine_version: String,
    /// The recipe: enough to regenerate every derived artifact of the run from its
    /// stored inputs, and the digests those must match.
    pub recipe: RunRecipe,
    /// Who started the run (local user, AWS principal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// How a run's derived artifacts were made, and their root digest. The run store is the
/// trusted index: the manifest's SHA-256 is kept here, and the manifest holds the
/// digests of the model and every scenario slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecipe {
    /// Key the portfolio was read from (its name decides the format and a CSV's default
    /// portfolio id).
    pub portfolio_key: String,
    pub portfolio_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data_sha256: Option<String>,
    /// Canonical JSON of the typed parameters, defaults filled in.
    pub parameters: String,
    pub manifest_sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartitionStatus {
    Pending,
    Done,
}

/// One `PART#<nnnn>` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionRecord {
    pub partition: u32,
    pub status: PartitionStatus,
    /// Blob key of the partition result, set when DONE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_key: Option<String>,
    /// SHA-256 of the stored result, set when DONE: aggregate trusts no result whose
    /// bytes do not match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_sha256: Option<String>,
    /// How long the evaluation took, set when DONE (for audit.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// One `STAGE#<name>` item: which stage produced which artifact, its digest, and how
/// long the stage took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: String,
    pub artifact_key: String,
    pub sha256: String,
    pub duration_ms: u64,
}

/// Outcome of a conditional create.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// We wrote it.
    New,
    /// It was already there (a retry, or a re-run with identical inputs): the stored one.
    Existing(T),
}

/// Outcome of marking a partition DONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// This call moved the partition from PENDING to DONE.
    Completed,
    /// It was DONE already: the call changed nothing (retry after success).
    AlreadyDone,
}

/// Bookkeeping of runs, partitions and stages (DynamoDB in AWS).
pub trait RunStore: Send + Sync {
    /// Create the run's META item unless it exists (`attribute_not_exists`).
    fn create_run(
        &self,
        run: &RunRecord,
    ) -> impl Future<Output = Result<Created<RunRecord>, StoreError>> + Send;
    fn get_run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> + Send;
    /// Set the run status (and failure detail). Idempotent.
    fn set_run_status(
        &self,
        run_id: &str,
        status: RunStatus,
        detail: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Create `PART#0000..count` as PENDING; existing items are left alone (a retried
    /// partition stage must not reset a partition that already finished).
    fn register_partitions(
        &self,
        run_id: &str,
        count: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// PENDING → DONE with its result key and digest, conditionally: a second call is a
    /// no-op. Fails with `NotFound` if the partition was never registered.
    fn complete_partition(
        &self,
        run_id: &str,
        partition: u32,
        result_key: &str,
        result_sha256: &str,
        duration_ms: u64,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send;
    /// All partitions of a run, by number, read consistently.
    fn partitions(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<PartitionRecord>, StoreError>> + Send;
    /// Record (or overwrite) a stage's artifact.
    fn record_stage(
        &self,
        run_id: &str,
        stage: &StageRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn stages(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<StageRecord>, StoreError>> + Send;
    /// Runs of one portfolio, newest first (the GSI in AWS).
    fn runs_for_portfolio(
        &self,
        portfolio_id: &str,
    ) -> impl Future<Output = Result<Vec<RunRecord>, StoreError>> + Send;
}

/// Zero-padded partition sort key, shared by both adapters so keys sort numerically.
pub fn partition_sort_key(partition: u32) -> String {
    format!("PART#{partition:04}")
}

/// A real-time assessment's audit record as the run store keeps it: one item per
/// assessment (PK `ASSESSMENT#<assessment_id>`, SK `META` in DynamoDB), listed by
/// portfolio through the same index as runs under its own partition key
/// (`ASSESSMENTS#<portfolio_id>`, so a portfolio's run history never meets its
/// assessments). The key fields are typed here; the record itself is the assessment
/// crate's `AuditRecord` as JSON, kept verbatim — the kernel does not depend on the
/// assessment's types, and the stored bytes are exactly what the caller was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    pub assessment_id: String,
    pub portfolio_id: String,
    /// RFC 3339 UTC; orders a portfolio's assessments (the index's sort key).
    pub requested_at: String,
    /// Who asked (local user, `x-stresslab-principal`, the IAM principal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// SHA-256 of the request as parsed.
    pub input_hash: String,
    /// The full audit record.
    pub audit: serde_json::Value,
}

/// Assessment ids are `asm-<hex>`: letters, digits and `-`, at most 64 characters.
/// Anything else must not reach a store as a path or key.
pub fn valid_assessment_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Audit records of assessments (the run store's table in AWS, the run store's
/// directory locally).
pub trait AssessmentStore: Send + Sync {
    /// Store the record unless one with its id exists (`attribute_not_exists`): a
    /// retried store is a no-op answered with what is stored, never a second item.
    fn put_assessment(
        &self,
        record: &AssessmentRecord,
    ) -> impl Future<Output = Result<Created<AssessmentRecord>, StoreError>> + Send;
    /// One record by id, read consistently; `None` if there is none.
    fn get_assessment(
        &self,
        assessment_id: &str,
    ) -> impl Future<Output = Result<Option<AssessmentRecord>, StoreError>> + Send;
    /// Assessments of one portfolio, newest first.
    fn assessments_for_portfolio(
        &self,
        portfolio_id: &str,
    ) -> impl Future<Output = Result<Vec<AssessmentRecord>, StoreError>> + Send;
}
