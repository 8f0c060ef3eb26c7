//! The upload trigger's decision, kept free of AWS so it is tested on the disk
//! adapters: a portfolio written to `portfolios/<workflow>/…` either starts that
//! workflow (with the run id `partition` — and so `stresslab run` — gives it, default
//! parameters and seed) or is rejected with a report written beside it. The Lambda
//! (functions/upload-trigger) only reads the event, writes the report or starts the
//! execution named by the run id.
//!
//! **Market data is not a portfolio.** A portfolio names its market data by a path
//! relative to its own folder (`"market_data": "data/ff_factors.csv"`), and uploaders
//! put that file in the same prefix. Any key with a `data/` folder anywhere below
//! `portfolios/<workflow>/` (`portfolios/factor/data/…`, `portfolios/factor/desk-a/data/…`)
//! is market data and is ignored: no run, no report. Everything else under
//! `portfolios/<workflow>/` is read as a portfolio, whatever its extension (books are
//! JSON or CSV), so a market-data file left beside the portfolio instead of under
//! `data/` gets a rejection report whose `note` says where it belongs. Upload the market data
//! first: the portfolio's event is decided at once, and a missing `market_data` file
//! rejects it (upload the portfolio again once the data is there).

use crate::Workflow;
use serde::Serialize;
use serde_json::Map;
use stresslab_core::api::{RunRequest, WorkflowName};
use stresslab_core::portfolio::Issue;
use stresslab_core::stages::{self, Admission};
use stresslab_core::storage::BlobStore;
use stresslab_core::StageError;

/// Keys under this prefix are uploads; the next segment names the workflow.
pub const UPLOAD_PREFIX: &str = "portfolios/";
/// A rejection report is written at `<key>` + this suffix.
pub const REJECTION_SUFFIX: &str = ".rejected.json";
/// `started_by` of runs the trigger starts (audit.json).
pub const UPLOAD_PRINCIPAL: &str = "s3-upload";
/// A folder of this name below `portfolios/<workflow>/` holds market data, not portfolios.
pub const DATA_FOLDER: &str = "data";

#[derive(Debug, Clone, PartialEq)]
pub enum UploadDecision {
    /// Start `workflow` with `request`; name the execution `run_id`.
    Start {
        workflow: Workflow,
        run_id: String,
        request: RunRequest,
    },
    /// Write `report` at `report_key`; start nothing.
    Reject {
        report_key: String,
        report: RejectionReport,
    },
    /// Not an upload (outside the prefix, or one of our own reports).
    Ignore(String),
}

/// What the uploader reads: every problem, each with the field or line it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectionReport {
    pub key: String,
    pub workflow: String,
    pub problems: Vec<Problem>,
    /// Where market data belongs: the likeliest cause of a rejected CSV.
    pub note: &'static str,
}

/// Every report's `note`.
pub const DATA_NOTE: &str =
    "Every file under portfolios/<workflow>/ is read as a portfolio, except \
     market data: it goes in a data/ folder (portfolios/<workflow>/data/…, referenced from the \
     portfolio as \"market_data\": \"data/<file>\"); files under data/ are never read as \
     portfolios. Upload the market data first, then the portfolio.";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub field: String,
    pub reason: String,
}

impl RejectionReport {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// Decide what an upload at `key` does. `Err` only for faults that are not the
/// file's (storage unavailable): the event is retried.
pub async fn decide<B: BlobStore>(blobs: &B, key: &str) -> Result<UploadDecision, StageError> {
    let Some(rest) = key.strip_prefix(UPLOAD_PREFIX) else {
        return Ok(UploadDecision::Ignore(format!(
            "{key:?} is not under {UPLOAD_PREFIX}"
        )));
    };
    if key.ends_with(REJECTION_SUFFIX) {
        return Ok(UploadDecision::Ignore(format!(
            "{key:?} is a rejection report"
        )));
    }
    let (segment, file) = rest.split_once('/').unwrap_or((rest, ""));
    // Folders of the file's path below the workflow segment (not the file name itself).
    let mut folders = file.split('/').rev().skip(1);
    if folders.any(|f| f == DATA_FOLDER) {
        return Ok(UploadDecision::Ignore(format!(
            "{key:?} is market data (under a {DATA_FOLDER}/ folder), not a portfolio"
        )));
    }
    let reject = |issues: Vec<Issue>| UploadDecision::Reject {
        report_key: format!("{key}{REJECTION_SUFFIX}"),
        report: RejectionReport {
            key: key.to_owned(),
            workflow: segment.to_owned(),
            problems: issues
                .into_iter()
                .map(|i| Problem {
                    field: i.path,
                    reason: i.reason,
                })
                .collect(),
            note: DATA_NOTE,
        },
    };
    let Some(workflow) = Workflow::from_name(segment) else {
        return Ok(reject(vec![Issue {
            path: "key".into(),
            reason: format!(
                "{segment:?} is not a workflow; upload to {UPLOAD_PREFIX}<workflow>/… with one of: {}",
                crate::names().join(", ")
            ),
        }]));
    };
    if file.is_empty() {
        return Ok(reject(vec![Issue {
            path: "key".into(),
            reason: format!("no file name after {UPLOAD_PREFIX}{segment}/"),
        }]));
    }
    let request = RunRequest {
        workflow: WorkflowName::new(workflow.name()),
        portfolio_key: key.to_owned(),
        market_data_key: None,
        parameters: Map::new(),
        seed: None,
        started_by: Some(UPLOAD_PRINCIPAL.to_owned()),
        // Uploads run on the market data they bring; pinning is for API and CLI runs.
        library_version: None,
    };
    let admission = dispatch!(workflow, E => stages::admit::<E, B>(blobs, &request).await)?;
    Ok(match admission {
        Admission::Admit { run_id } => UploadDecision::Start {
            workflow,
            run_id,
            request,
        },
        Admission::Reject(issues) => reject(issues),
    })
}
