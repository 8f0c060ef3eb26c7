//! Stage payloads: what the state machine passes between Lambdas and what the local
//! runner passes between stage calls. They carry ids, keys and small summaries only —
//! Step Functions rejects state data over 256 KiB — never the data itself.
//!
//! The kernel knows no workflow: a payload names its workflow with a [`WorkflowName`],
//! and the registry (`shared/workflows/registry`) maps that name to an engine, refusing
//! an unknown one with the list of known names.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A workflow's name as it travels in payloads and run ids (`factor`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkflowName(pub String);

impl WorkflowName {
    pub fn new(name: &str) -> Self {
        WorkflowName(name.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Start of a run: the state machine input, the API body, and the local runner's call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub workflow: WorkflowName,
    /// Blob key of the portfolio (JSON or CSV). Market data it references is resolved
    /// relative to this key's folder.
    pub portfolio_key: String,
    /// Blob key of the market data (overrides the portfolio's own `market_data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data_key: Option<String>,
    /// The workflow's own parameters (e.g. factor: `scenarios`, `partitions`), checked
    /// against its typed, `deny_unknown_fields` parameter struct. Omitted = defaults.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
    /// RNG seed; default 42.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Pin a scenario library version (`2026-12-0123456789ab`): the run uses that
    /// library's market models instead of estimating them. Recorded in audit.json and
    /// hashed into the run id; omitted = estimate (the run id is as it always was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_version: Option<String>,
    /// Who asked for the run (local user, AWS principal); recorded in audit.json, not
    /// part of the run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// One unit of fan-out work: the Map state's item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionTask {
    pub run_id: String,
    pub workflow: WorkflowName,
    pub partition: u32,
}

/// partition's output: the run id and the Map items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionPlan {
    pub run_id: String,
    pub workflow: WorkflowName,
    pub scenario_count: u32,
    pub partitions: Vec<PartitionTask>,
}

/// compute-partition's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionOutcome {
    pub run_id: String,
    pub partition: u32,
    pub result_key: String,
    /// False when the partition was already DONE (and its stored result verified), so
    /// nothing was recomputed.
    pub computed: bool,
}

/// Input of aggregate, the personas and synthesize: which run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub run_id: String,
    pub workflow: WorkflowName,
}

/// Output of aggregate, the personas and synthesize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutput {
    pub run_id: String,
    pub workflow: WorkflowName,
    pub stage: String,
    pub artifact_key: String,
}
