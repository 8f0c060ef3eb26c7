//! The workflow end to end on the seed fund: prepare, evaluate, merge.

use super::*;
use stresslab_core::portfolio::parse_portfolio;

pub fn seed_portfolio() -> Portfolio {
    parse_portfolio(
        "seed_multi_asset_fund.json",
        include_bytes!("../../../../events/inputs/seed_multi_asset_fund.json"),
    )
    .expect("the seed fund is valid")
}

pub fn params(scenarios: u32) -> LiquidityParams {
    LiquidityParams {
        scenarios,
        partitions: 2,
        ..LiquidityParams::default()
    }
}

#[test]
fn the_seed_fund_prepares_and_every_scenario_runs() {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(72), 7).unwrap();
    assert_eq!(set.len(), 72);
    let partial = LiquidityWorkflow::evaluate(&run, 0, &set);
    assert!(partial.failures.is_empty(), "{:?}", partial.failures);
    assert_eq!(partial.outcomes.len(), 72);
}
