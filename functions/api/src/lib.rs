//! The API Lambda's backend: shared/api's [`Backend`] over S3, DynamoDB and Step
//! Functions, and the caller's principal from API Gateway's IAM authorizer.
//!
//! - **start**: `StartExecution` on the workflow's state machine, the execution **named
//!   by the run id**, the `RunRequest` as input — the upload trigger's launcher. Step
//!   Functions refuses a second execution of one name (`ExecutionAlreadyExists`, or the
//!   running one back for the same input), so identical requests arriving together on
//!   different Lambda instances start one run; the others are answered 200 with it.
//!   A FAILED run is therefore **not** restarted by a repeat request on AWS (its
//!   execution name is taken for 90 days): the repeat answers 200 with the FAILED run.
//! - **inputs**: inline portfolios and market data are stored content-addressed under
//!   `inputs/` by the router (as `stresslab serve` does); keyed inputs are read only
//!   under [`READABLE_INPUT_PREFIXES`], the prefixes the partition stage may read, so a
//!   run the API accepts is a run the workflow can read.
//! - **status**: the run store (DynamoDB: META, partitions, stages). Before the partition
//!   stage has recorded the run, its execution says QUEUED or FAILED (`DescribeExecution`).
//! - **report**: a presigned S3 GET URL for `runs/<id>/report.html`, valid for
//!   [`REPORT_LINK_EXPIRY`] (15 minutes) — or less, if the function's session credentials
//!   expire first (a presigned URL lives no longer than the credentials that signed it).
//! - **history**: the `ByPortfolio` index. **`GET /runs`** (no portfolio): the newest
//!   executions of the three state machines (`ListExecutions`), [`RECENT_RUNS`] at most.

use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;
use stresslab_api::axum::http::StatusCode;
use stresslab_api::{
    store_history, store_view, ApiConfig, ApiError, Backend, RunState, RunView, Start,
};
use stresslab_aws::sfn::{ExecutionStatus, Launch, Launcher, StateMachines, StepFunctionsLauncher};
use stresslab_aws::{store_error, DynamoRunStore, S3BlobStore};
use stresslab_core::api::RunRequest;
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, StoreError};
use stresslab_registry::Workflow;

/// How long a report link is valid.
pub const REPORT_LINK_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// Largest `POST /runs` body the Lambda accepts (4 MiB). API Gateway HTTP APIs take up
/// to 10 MB, but a synchronous Lambda invocation carries at most 6 MB of event, and the
/// body travels in it JSON-escaped or base64-encoded (4/3 larger): 4 MiB is what
/// always fits. Over it the router answers 413 with a problem list; past ~6 MB of event
/// API Gateway answers itself. Larger portfolios go by key (uploaded to S3 first).
pub const LAMBDA_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Largest answer the Lambda returns (4 MiB): a synchronous invocation's response is at
/// most 6 MB, and the body travels in it as a JSON string (escaped quotes make it up
/// to ~1.3× larger). Only `POST /loan-simulations` with per-loan rows of a book of
/// some 14,000 loans or more comes near it; over it the router answers 400 asking for
/// `include_loans: false`.
pub const LAMBDA_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Where keyed inputs (`portfolio_key`, `market_data_key`, a portfolio's relative
/// market data) may be read: the API's own inline copies, the upload trigger's prefix
/// and the direct-start prefix — exactly what the partition stage may read.
pub const READABLE_INPUT_PREFIXES: &[&str] = &["inputs/", "portfolios/", "uploads/"];

/// Where the router writes inline inputs (`admission`: `inputs/<sha>/…`).
pub const INLINE_INPUT_PREFIX: &str = "inputs/";

/// `GET /runs` without a portfolio lists at most this many runs.
pub const RECENT_RUNS: usize = 20;

pub use stresslab_aws::principal::{iam_principal, NO_PRINCIPAL};

/// The router's configuration on Lambda: the IAM principal, [`LAMBDA_MAX_BODY_BYTES`]
/// and [`LAMBDA_MAX_RESPONSE_BYTES`].
pub fn lambda_config() -> ApiConfig {
    ApiConfig {
        principal: std::sync::Arc::new(iam_principal),
        max_body_bytes: LAMBDA_MAX_BODY_BYTES,
        max_response_bytes: Some(LAMBDA_MAX_RESPONSE_BYTES),
    }
}

/// The artifact bucket as the API may use it: reads of inputs under
/// [`READABLE_INPUT_PREFIXES`] and of a finished run's deliverables, writes of inline
/// inputs only. The function's IAM policy grants the same; this says so before S3
/// does, and turns a key elsewhere into a 400 naming the field rather than an
/// AccessDenied (500).
#[derive(Debug, Clone)]
pub struct ApiBlobs {
    s3: S3BlobStore,
}

fn readable(key: &str) -> bool {
    READABLE_INPUT_PREFIXES.iter().any(|p| key.starts_with(p))
        || key
            .strip_prefix("runs/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, file)| stages::DELIVERABLES.contains(&file))
}

fn unreadable(key: &str) -> StoreError {
    StoreError::NotFound(format!(
        "{key:?}: the API reads inputs only under {}",
        READABLE_INPUT_PREFIXES.join(", ")
    ))
}

impl ApiBlobs {
    pub fn new(s3: S3BlobStore) -> Self {
        Self { s3 }
    }
}

impl BlobStore for ApiBlobs {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        if !key.starts_with(INLINE_INPUT_PREFIX) {
            return Err(StoreError::Permanent(format!(
                "the API writes only inline inputs ({INLINE_INPUT_PREFIX}…), not {key:?}"
            )));
        }
        self.s3.put(key, body, content_type).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        if !readable(key) {
            return Err(unreadable(key));
        }
        self.s3.get(key).await
    }
    async fn get_limited(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        if !readable(key) {
            return Err(unreadable(key));
        }
        self.s3.get_limited(key, max_bytes).await
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if !readable(key) {
            return Ok(false);
        }
        self.s3.exists(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        if !READABLE_INPUT_PREFIXES
            .iter()
            .any(|p| prefix.starts_with(p))
        {
            return Err(unreadable(prefix));
        }
        self.s3.list(prefix).await
    }
}

/// [`Backend`] on AWS. Clients are built once per cold start and shared by requests.
pub struct AwsBackend {
    blobs: ApiBlobs,
    s3: S3BlobStore,
    runs: DynamoRunStore,
    machines: StateMachines,
    launcher: StepFunctionsLauncher,
}

impl AwsBackend {
    pub fn new(
        s3: S3BlobStore,
        runs: DynamoRunStore,
        machines: StateMachines,
        launcher: StepFunctionsLauncher,
    ) -> Self {
        AwsBackend {
            blobs: ApiBlobs::new(s3.clone()),
            s3,
            runs,
            machines,
            launcher,
        }
    }

    fn machine(&self, workflow: Workflow) -> Result<&str, ApiError> {
        self.machines.arn(workflow).ok_or_else(|| {
            // `StateMachines` holds every workflow: a registry/deployment mismatch.
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
                format!(
                    "no state machine configured for {} ({})",
                    workflow.name(),
                    StateMachines::env_var(workflow)
                ),
            )
        })
    }

    /// A run the run store does not hold yet, from its execution.
    async fn view_of_execution(&self, run_id: &str) -> Result<Option<RunView>, ApiError> {
        // Run ids are `<workflow>-<hex>`: the prefix names the state machine.
        let Some(workflow) = run_id
            .rsplit_once('-')
            .and_then(|(w, _)| Workflow::from_name(w))
        else {
            return Ok(None);
        };
        let arn = self.machine(workflow)?;
        let Some(execution) = self.launcher.describe(arn, run_id).await? else {
            return Ok(None);
        };
        let request: RunRequest = match execution.input.as_deref().map(serde_json::from_str) {
            Some(Ok(request)) => request,
            // Every execution named by a run id was started with its RunRequest (here
            // or by the upload trigger); anything else was started by hand.
            Some(Err(e)) => return Err(execution_fault(run_id, &format!("input: {e}"))),
            None => return Err(execution_fault(run_id, "no input")),
        };
        let mut view = RunView::queued(run_id, &request);
        match execution.status {
            ExecutionStatus::Running => {}
            ExecutionStatus::Failed => {
                view.status = RunState::Failed;
                view.detail = execution.failure;
            }
            ExecutionStatus::Succeeded => {
                // Partition records the run before anything else runs; an execution
                // that succeeded without that record did not run this workflow.
                view.status = RunState::Failed;
                view.detail = Some(
                    "the execution succeeded but the run store has no record of the run".into(),
                );
            }
        }
        Ok(Some(view))
    }
}

fn execution_fault(run_id: &str, what: &str) -> ApiError {
    ApiError::storage(StoreError::Permanent(format!(
        "execution {run_id} is not a StressLab run ({what})"
    )))
}

impl Backend for AwsBackend {
    type Blobs = ApiBlobs;

    fn blobs(&self) -> &ApiBlobs {
        &self.blobs
    }

    async fn start_run(&self, run_id: &str, request: RunRequest) -> Result<Start, ApiError> {
        let workflow = Workflow::from_name(request.workflow.as_str()).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "workflow",
                format!("unknown workflow {:?}", request.workflow.as_str()),
            )
        })?;
        let arn = self.machine(workflow)?;
        let input = serde_json::to_string(&request).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
                format!("run request as JSON: {e}"),
            )
        })?;
        match self.launcher.start(arn, run_id, &input).await? {
            Launch::Started => {
                tracing::info!(run_id, "execution started");
                Ok(Start::Started)
            }
            Launch::AlreadyExists => {
                tracing::info!(run_id, "execution already exists: nothing started");
                Ok(Start::Existing)
            }
        }
    }

    async fn status(&self, run_id: &str) -> Result<Option<RunView>, ApiError> {
        if let Some(view) = store_view(&self.runs, run_id).await? {
            return Ok(Some(view));
        }
        self.view_of_execution(run_id).await
    }

    async fn report_link(&self, run_id: &str) -> Result<String, ApiError> {
        let key = stages::deliverable_key(run_id, "report.html");
        let config = PresigningConfig::expires_in(REPORT_LINK_EXPIRY).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
                format!("presign: {e}"),
            )
        })?;
        let presigned = self
            .s3
            .client()
            .get_object()
            .bucket(self.s3.bucket())
            .key(&key)
            .presigned(config)
            .await
            .map_err(|e| ApiError::storage(store_error(&format!("presign GET {key}"), e)))?;
        Ok(presigned.uri().to_owned())
    }

    async fn history(&self, portfolio_id: &str) -> Result<Vec<RunView>, ApiError> {
        Ok(store_history(&self.runs, portfolio_id).await?)
    }

    async fn recent(&self) -> Result<Vec<RunView>, ApiError> {
        let mut started = Vec::new();
        for &workflow in Workflow::ALL {
            let arn = self.machine(workflow)?;
            let listed = self
                .launcher
                .client()
                .list_executions()
                .state_machine_arn(arn)
                .max_results(RECENT_RUNS as i32)
                .send()
                .await
                .map_err(|e| {
                    ApiError::storage(store_error(&format!("list executions of {arn}"), e))
                })?;
            for e in listed.executions() {
                started.push((*e.start_date(), e.name().to_owned()));
            }
        }
        // Newest first across the three state machines (ListExecutions is newest first
        // per machine).
        started.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut out = Vec::new();
        for (_, name) in started.into_iter().take(RECENT_RUNS) {
            match self.status(&name).await {
                Ok(Some(view)) => out.push(view),
                Ok(None) => {}
                // Worth a retry: the caller's, not ours to hide.
                Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => return Err(e),
                // An execution started by hand under another name is not a run; it is
                // logged and left out of the list.
                Err(e) => tracing::warn!(execution = name, problems = ?e.problems, "not listed"),
            }
        }
        Ok(out)
    }
}
