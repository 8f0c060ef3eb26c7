//! Stage payloads: what the state machine passes between Lambdas and what the local
//! runner passes between stage calls. They carry ids, keys and small summaries only —
//! Step Functions rejects state data over 256 KiB — never the data itself.

use serde::{Deserialize, Serialize};

/// Which stress workflow a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workflow {
    Factor,
}

impl Workflow {
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Factor => "factor",
        }
    }
}

/// Tunable size of a run. `None` means the workflow default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunParameters {
    /// Number of stress scenarios to generate (factor: default 500, minimum 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenarios: Option<u32>,
    /// Number of partitions the scenarios are split into (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
}

/// Start of a run: the state machine input, the API body, and the local runner's call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub workflow: Workflow,
    /// Blob key of the portfolio (JSON or CSV). Market data it references is resolved
    /// relative to this key's folder.
    pub portfolio_key: String,
    /// Blob key of the market data (overrides the portfolio's own `market_data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data_key: Option<String>,
    #[serde(default)]
    pub parameters: RunParameters,
    /// RNG seed; default 42.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// One unit of fan-out work: the Map state's item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionTask {
    pub run_id: String,
    pub workflow: Workflow,
    pub partition: u32,
}

/// partition's output: the run id and the Map items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionPlan {
    pub run_id: String,
    pub workflow: Workflow,
    pub scenario_count: u32,
    pub partitions: Vec<PartitionTask>,
}

/// compute-partition's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionOutcome {
    pub run_id: String,
    pub partition: u32,
    pub result_key: String,
    /// False when the partition was already DONE and nothing was recomputed.
    pub computed: bool,
}

/// Input of aggregate, the personas and synthesize: which run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub run_id: String,
    pub workflow: Workflow,
}

/// Output of aggregate, the personas and synthesize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutput {
    pub run_id: String,
    pub workflow: Workflow,
    pub stage: String,
    pub artifact_key: String,
}

/// The persona agents. Each is one Lambda; locally they run in this order, each able to
/// read the findings of those before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persona {
    FactorModelingSpecialist,
    RiskDecompositionEngineer,
    MarketRegimeAnalyst,
    PortfolioOptimizationStrategist,
}

impl Persona {
    pub const FACTOR_TEAM: [Persona; 4] = [
        Persona::FactorModelingSpecialist,
        Persona::RiskDecompositionEngineer,
        Persona::MarketRegimeAnalyst,
        Persona::PortfolioOptimizationStrategist,
    ];
    /// Kebab-case name: the Lambda crate name and the stage name in the run store.
    pub fn name(self) -> &'static str {
        match self {
            Persona::FactorModelingSpecialist => "factor-modeling-specialist",
            Persona::RiskDecompositionEngineer => "risk-decomposition-engineer",
            Persona::MarketRegimeAnalyst => "market-regime-analyst",
            Persona::PortfolioOptimizationStrategist => "portfolio-optimization-strategist",
        }
    }
}
