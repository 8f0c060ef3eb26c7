//! The upload trigger: S3 "Object Created" (via EventBridge) for a key under
//! `portfolios/<workflow>/` → [`stresslab_registry::upload::decide`] → one of
//!
//! - **Start**: `StartExecution` on that workflow's state machine, the execution
//!   **named by the run id** (the content-derived id `partition` and `stresslab run`
//!   give the same request) and the `RunRequest` as input. Step Functions refuses a
//!   second execution of one name on one state machine (`ExecutionAlreadyExists`, or
//!   the original execution back when name and input match a running one), so a
//!   duplicate or replayed event — or the same file uploaded twice — never starts a
//!   second run; that refusal counts as success and is logged.
//! - **Reject**: the rejection report at `<key>.rejected.json`, every problem named;
//!   nothing started. (The report's own event is ignored by `decide`.)
//! - **Ignore**: nothing — keys outside the prefix, our reports, and **market data**:
//!   any file in a `data/` folder below `portfolios/<workflow>/` (where a portfolio's
//!   relative `market_data` reference points, `"market_data": "data/<file>"`). Every
//!   other file there is read as a portfolio, JSON or CSV; see
//!   [`stresslab_registry::upload`] for the rule.
//!
//! Faults: an S3 or Step Functions fault that may pass (throttling, 5xx, network) fails
//! the invocation (`Retryable`) and Lambda retries the asynchronous invocation (twice;
//! then the dead-letter queue) —
//! safe, because every outcome above is idempotent. A permanent fault (access denied, a
//! missing state machine) would fail every retry the same way: it is logged at ERROR
//! with the key and the reason, and the invocation returns [`Outcome::Dropped`].
//!
//! The handler is generic over the blob store and a [`Launcher`], so its decisions are
//! tested on the disk store with a recording launcher, and end to end against moto
//! (`tests/moto_upload.rs`).

use serde::{Deserialize, Serialize};
use stresslab_core::storage::BlobStore;
use stresslab_core::StageError;
use stresslab_registry::upload::{self, UploadDecision};

// The launcher and the state-machine ARNs are shared with the API Lambda; they live
// in stresslab-aws (feature `sfn`) and are re-exported here under their old names.
pub use stresslab_aws::sfn::{Launch, Launcher, StateMachines, StepFunctionsLauncher};

/// The EventBridge event S3 sends (only the fields the trigger reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectCreated {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub detail: ObjectCreatedDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectCreatedDetail {
    pub bucket: BucketRef,
    pub object: ObjectRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Used as given. Unlike S3's own notifications (form-encoded keys, `+` for a
    /// space), EventBridge's S3 events are understood to carry the key unencoded;
    /// not yet checked on AWS with a key containing spaces or `+` — if it were
    /// encoded, such an upload would get a "not found" report, never a wrong run.
    pub key: String,
}

impl ObjectCreated {
    /// The event S3 sends for `key` in `bucket` (tests, the sample event).
    pub fn new(bucket: &str, key: &str) -> Self {
        Self {
            detail_type: "Object Created".into(),
            source: "aws.s3".into(),
            detail: ObjectCreatedDetail {
                bucket: BucketRef {
                    name: bucket.into(),
                },
                object: ObjectRef { key: key.into() },
            },
        }
    }
}

/// What one event did: the Lambda's result (and so what its logs and tests see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Started {
        workflow: String,
        run_id: String,
    },
    /// The execution named by the run id already existed: a duplicate event.
    AlreadyStarted {
        workflow: String,
        run_id: String,
    },
    Rejected {
        report_key: String,
    },
    Ignored {
        reason: String,
    },
    /// A permanent fault (logged at ERROR): retrying cannot help.
    Dropped {
        reason: String,
    },
}

/// The trigger. `bucket` is the artifact bucket `blobs` reads; an event for another
/// bucket is ignored (the rule filters on it; this guards a mis-wired rule). `Err`
/// only for faults that may pass: the invocation fails and is retried.
pub async fn handle<B: BlobStore, L: Launcher>(
    blobs: &B,
    bucket: &str,
    machines: &StateMachines,
    launcher: &L,
    event: &ObjectCreated,
) -> Result<Outcome, StageError> {
    let key = &event.detail.object.key;
    if event.source != "aws.s3" || event.detail_type != "Object Created" {
        return Ok(ignored(format!(
            "not an S3 Object Created event ({} / {})",
            event.source, event.detail_type
        )));
    }
    if event.detail.bucket.name != bucket {
        return Ok(ignored(format!(
            "{key:?} is in bucket {:?}, not the artifact bucket {bucket:?}",
            event.detail.bucket.name
        )));
    }
    let decision = match upload::decide(blobs, key).await {
        Ok(d) => d,
        Err(e) => return permanent_or_retry(key, e),
    };
    match decision {
        UploadDecision::Ignore(reason) => Ok(ignored(reason)),
        UploadDecision::Reject { report_key, report } => {
            match blobs
                .put(&report_key, report.to_json(), "application/json")
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        key,
                        report_key,
                        problems = report.problems.len(),
                        "rejected"
                    );
                    Ok(Outcome::Rejected { report_key })
                }
                Err(e) => permanent_or_retry(key, e.into()),
            }
        }
        UploadDecision::Start {
            workflow,
            run_id,
            request,
        } => {
            let Some(arn) = machines.arn(workflow) else {
                // `StateMachines` holds every workflow; this is a registry/deployment
                // mismatch, not the upload's fault.
                return permanent_or_retry(
                    key,
                    StageError::invalid(format!(
                        "no state machine configured ({})",
                        StateMachines::env_var(workflow)
                    )),
                );
            };
            let input = serde_json::to_string(&request)
                .map_err(|e| StageError::invalid(format!("run request as JSON: {e}")));
            let input = match input {
                Ok(i) => i,
                Err(e) => return permanent_or_retry(key, e),
            };
            let workflow = workflow.name().to_owned();
            match launcher.start(arn, &run_id, &input).await {
                Ok(Launch::Started) => {
                    tracing::info!(key, workflow, run_id, "started");
                    Ok(Outcome::Started { workflow, run_id })
                }
                Ok(Launch::AlreadyExists) => {
                    tracing::info!(
                        key,
                        workflow,
                        run_id,
                        "execution already exists: duplicate event or re-upload, nothing started"
                    );
                    Ok(Outcome::AlreadyStarted { workflow, run_id })
                }
                Err(e) => permanent_or_retry(key, e.into()),
            }
        }
    }
}

fn ignored(reason: String) -> Outcome {
    tracing::info!(reason, "ignored");
    Outcome::Ignored { reason }
}

/// `Retryable` goes back to the caller (the invocation fails and is retried); anything
/// else is logged and dropped, since every retry would fail the same way.
fn permanent_or_retry(key: &str, e: StageError) -> Result<Outcome, StageError> {
    match e {
        StageError::Retryable(_) => {
            tracing::warn!(key, error = %e, "transient fault; failing the invocation to be retried");
            Err(e)
        }
        StageError::NonRetryable(reason) => {
            tracing::error!(key, reason, "permanent fault; upload not processed");
            Ok(Outcome::Dropped { reason })
        }
    }
}
