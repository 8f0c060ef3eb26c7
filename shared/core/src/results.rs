//! The `results.json` envelope every workflow shares, so a consumer can read any run's
//! results without knowing which code wrote them: schema version, workflow and engine
//! version, run id, as-of date, base currency, horizon, and the conventions every
//! number follows — amounts in the base currency, **losses positive**, fractions as
//! fractions (0.05 = 5%), never percentages. The workflow's own numbers go under
//! `results`, described by `schemas/<workflow>-results.schema.json`.

use crate::engine::RunContext;
use crate::findings::Findings;
use serde_json::{json, Value};

/// Bump when a field changes meaning or disappears (additions keep the version).
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

/// The sign and unit conventions, stated in every results.json.
pub const SIGN_CONVENTION: &str =
    "losses are positive numbers: a field named loss, var, es or *_loss is the amount lost (a gain is negative)";
pub const AMOUNT_CONVENTION: &str =
    "amounts are in the base currency's units (not thousands or millions)";
pub const FRACTION_CONVENTION: &str =
    "fractions are fractions of one (0.05 means 5%); no field holds a percentage";

/// What a workflow's deliverable says about its horizon, e.g. "one month".
pub struct Horizon<'a> {
    pub description: &'a str,
}

/// The whole results.json: the envelope around the workflow's `body`.
pub fn envelope(
    run: &RunContext,
    total_market_value: f64,
    horizon: Horizon<'_>,
    narrative: &str,
    findings: &[Findings],
    body: Value,
) -> Value {
    json!({
        "schema_version": RESULTS_SCHEMA_VERSION,
        "workflow": run.workflow,
        "engine_version": run.engine_version,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "run_id": run.run_id,
        "as_of": run.as_of,
        "base_currency": run.base_currency,
        "horizon": horizon.description,
        "conventions": {
            "sign": SIGN_CONVENTION,
            "amounts": AMOUNT_CONVENTION,
            "fractions": FRACTION_CONVENTION,
        },
        "portfolio": {
            "id": run.portfolio_id,
            "name": run.portfolio_name,
            "total_market_value": total_market_value,
        },
        "seed": run.seed,
        "scenario_count": run.scenario_count,
        "partition_count": run.partition_count,
        "narrative": narrative,
        "findings": findings,
        "results": body,
    })
}
