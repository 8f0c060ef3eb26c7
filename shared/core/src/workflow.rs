//! What a stress workflow must provide so the four generic operations can run it:
//! prepare (model + scenario set, in partition), evaluate (a slice of scenarios, in
//! compute-partition) and merge (in aggregate). Personas and the report are
//! workflow-specific and live with the workflow.

use crate::api::Workflow;
use crate::market_data::MarketData;
use crate::portfolio::{Portfolio, Rejection};
use serde::{de::DeserializeOwned, Serialize};

pub trait WorkflowEngine {
    const WORKFLOW: Workflow;
    const DEFAULT_SCENARIOS: u32;
    const MIN_SCENARIOS: u32;
    const MAX_SCENARIOS: u32;
    /// Everything evaluation needs besides the scenarios (estimated once, in partition).
    type Model: Serialize + DeserializeOwned + Send + Sync;
    type Scenario: Serialize + DeserializeOwned + Send + Sync;
    type Outcome: Serialize + DeserializeOwned + Send + Sync;
    type Aggregate: Serialize + DeserializeOwned + Send + Sync;

    fn prepare(
        portfolio: &Portfolio,
        market: Option<&MarketData>,
        scenario_count: u32,
        seed: u64,
    ) -> Result<(Self::Model, Vec<Self::Scenario>), Rejection>;

    /// Pure and deterministic: the same slice gives the same bits on every retry.
    fn evaluate(model: &Self::Model, scenarios: &[Self::Scenario]) -> Vec<Self::Outcome>;

    /// Merge outcomes given in scenario order.
    fn merge(model: &Self::Model, outcomes: Vec<Self::Outcome>) -> Self::Aggregate;
}
